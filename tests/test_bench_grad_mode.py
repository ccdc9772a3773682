"""`benchmarks/kernels.py`'s main() switched autograd off for the whole process (torch.set_grad_enabled(False)):
called in-process (tests/test_bench_commands.py does), every later training in that process failed with 'element
0 of tensors does not require grad' (20 tests of the suite's models and trainers). It now runs under no_grad."""

import torch
from wavegraph.benchmarks.kernels import main


def test_the_kernel_benchmark_leaves_autograd_as_it_found_it(tmp_path, capsys):
    assert torch.is_grad_enabled()
    main(["--device", "cpu", "--repeats", "1", "--skip", "ref", "ref-chunked", "ref-seq"])
    assert torch.is_grad_enabled()
