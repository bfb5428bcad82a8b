"""The five taskwave functions, one package each, all of the same shape."""
