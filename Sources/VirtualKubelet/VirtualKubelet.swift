// The virtual kubelet: being written.
