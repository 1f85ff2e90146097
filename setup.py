# The native core is compiled by the package build: cffi API mode, see native/build_ffi.py.
from setuptools import setup

setup(cffi_modules=["native/build_ffi.py:ffibuilder"])
