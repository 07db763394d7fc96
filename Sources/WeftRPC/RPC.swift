// RPC core
