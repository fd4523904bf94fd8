fn main() -> std::process::ExitCode {
    upkeep::app::cli::main()
}
