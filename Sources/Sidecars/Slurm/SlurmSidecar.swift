// The Slurm sidecar: being written.
