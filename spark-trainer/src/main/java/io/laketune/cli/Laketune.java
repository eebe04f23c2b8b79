package io.laketune.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The laketune command line. The same class is the main class that spark-submit runs.
 *
 * <p>User errors (bad arguments, missing or malformed files) print one sentence on stderr and exit
 * non-zero; a stack trace is printed only with {@code --stacktrace} or {@code LAKETUNE_STACKTRACE=1}.
 */
@Command(
    name = "laketune",
    mixinStandardHelpOptions = true,
    version = "laketune 0.1.0",
    description = "Fine-tune large language models on Spark where the data already lives.",
    subcommands = {CommandLine.HelpCommand.class, PrepareCommand.class, InspectCommand.class,
        TrainCommand.class, EvalCommand.class, GenerateCommand.class, TokenizeCommand.class, ExportCommand.class,
        BenchCommand.class, DemoCommand.class})
public final class Laketune {

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the CLI and returns the exit code (tests call this instead of {@link #main}). */
  public static int run(String... args) {
    io.laketune.nn.Nd4jBackend.ensureConfigured();
    CommandLine cli = new CommandLine(new Laketune());
    cli.setExecutionExceptionHandler(new UserErrorHandler());
    return cli.execute(args);
  }
}
