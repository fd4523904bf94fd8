fn main() -> std::process::ExitCode {
    upkeep::cli::main()
}
