"""Data adapters: how fit / evaluate / predict read their inputs (NumPy arrays today)."""

from fastconv.trainers.data_adapters.array_data_adapter import (
    as_array,
    batch_orders,
    check_batch_size,
    check_data,
    check_positive_int,
    class_weights_to_sample_weights,
    num_batches,
    split_validation,
    take,
)

__all__ = [
    "as_array", "batch_orders", "check_batch_size", "check_data", "check_positive_int",
    "class_weights_to_sample_weights", "num_batches", "split_validation", "take",
]
