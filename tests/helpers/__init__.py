"""Reference implementations and utilities shared by turborl's tests."""
