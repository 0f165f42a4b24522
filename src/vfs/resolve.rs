//! TODO: the one path resolver.
