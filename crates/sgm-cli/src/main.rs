//! The `sgm` binary: a thin shell over [`sgm_cli::main_with_args`] (which applies the process-wide CPU settings of
//! `sgm_cli::process::tune` first: glibc malloc thresholds, candle's element-wise pool off).

fn main() -> std::process::ExitCode {
    sgm_cli::main_with_args(std::env::args_os())
}
