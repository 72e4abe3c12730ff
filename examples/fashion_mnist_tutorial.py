"""The Keras Fashion-MNIST tutorial, unchanged but for the import.

Run: FASTCONV_DATA=../shared/data python examples/fashion_mnist_tutorial.py
"""
import fastconv as keras
(x, y), (tx, ty) = keras.datasets.fashion_mnist.load_data()
x = x.reshape(-1, 28, 28, 1) / 255.0; tx = tx.reshape(-1, 28, 28, 1) / 255.0
model = keras.Sequential()
model.add(keras.layers.Conv2D(32, kernel_size=3, activation='relu', padding='same', input_shape=(28, 28, 1)))
model.add(keras.layers.MaxPooling2D(2))
model.add(keras.layers.Conv2D(64, kernel_size=(3, 3), activation='relu', padding='same'))
model.add(keras.layers.MaxPooling2D(2))
model.add(keras.layers.Flatten())
model.add(keras.layers.Dense(100, activation='relu'))
model.add(keras.layers.Dropout(0.4))
model.add(keras.layers.Dense(10, activation='softmax'))
model.summary()            # Keras's table; total params 333,526
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics='accuracy')
history = model.fit(x, y, epochs=5, validation_split=0.2)
print(history.history['val_accuracy'])
print(model.evaluate(tx, ty))   # [loss, accuracy]
print(model.predict(tx[:1]))    # class probabilities
