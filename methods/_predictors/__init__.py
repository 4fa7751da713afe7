"""Private helpers of the model-based methods (predictor_evolution, pnas): predictors, encodings, GA, PNAS spaces."""
