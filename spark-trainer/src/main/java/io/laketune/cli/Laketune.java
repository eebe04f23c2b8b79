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
        BenchCommand.class, PlanCommand.class, DemoCommand.class, EnvCommand.class})
public final class Laketune {

  /** Commands that never load ND4J's native code: they run even where no native build does. */
  private static final java.util.Set<String> WITHOUT_NATIVE_CODE =
      java.util.Set.of("prepare", "inspect", "tokenize", "env", "help", "--help", "-h", "--version", "-V");

  @picocli.CommandLine.Option(names = "--verbose", scope = picocli.CommandLine.ScopeType.INHERIT,
      description = "Keep Spark's, Hadoop's and ND4J's INFO logs (by default they show warnings and errors only).")
  boolean verbose;

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the CLI and returns the exit code (tests call this instead of {@link #main}). */
  public static int run(String... args) {
    // The native build is chosen before any ND4J class loads; commands that compute fail here, in one
    // sentence, when nothing on the class path runs on this CPU (those that only tokenize do not need it).
    io.laketune.platform.NativeBuilds.initQuietly();
    if (args.length > 0 && !WITHOUT_NATIVE_CODE.contains(args[0])) {
      try {
        io.laketune.platform.NativeBuilds.init();
      } catch (io.laketune.platform.NativeBuildException e) {
        System.err.println("laketune " + args[0] + ": " + e.getMessage());
        return 1;
      }
    }
    LocalSpark.quietLogging(java.util.Arrays.asList(args).contains("--verbose"));
    CommandLine cli = new CommandLine(new Laketune());
    cli.setExecutionExceptionHandler(new UserErrorHandler());
    cli.setCaseInsensitiveEnumValuesAllowed(true);
    return cli.execute(args);
  }
}
