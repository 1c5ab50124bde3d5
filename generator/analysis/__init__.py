"""Stage 4: what the saved images do to the network (cross-activation), and the results as records."""
