"""Private helpers of the weight-sharing methods (EvNAS, EDNAS): supernets, policies, GA, training steps."""
