"""Reading finished runs back: the HTML training report, TensorBoard export and the results tables."""
