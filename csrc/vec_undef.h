/* Ends the scope of a vec_*.h include. */
#undef VT
#undef VW
#undef VREGS
#undef VZERO
#undef VLOAD
#undef VSTORE
#undef VSTREAM
#undef VSET1
#undef VFMA
#undef VADD
#undef VMAX
#undef VM
#undef VMASK
#undef VLOADM
#undef VSTOREM
#undef FC_LANES
