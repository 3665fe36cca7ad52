"""Test support: throwaway servers and worker processes."""
