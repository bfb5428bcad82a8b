"""HTTP building blocks every function app is made of."""
