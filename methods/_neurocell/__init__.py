"""Private helpers of neuro-cell evolution: the template network, morphisms, selection and the training loop."""
