"""rc.data: loading data sets into float32 arrays/tensors, and mini-batching."""
