package io.laketune.cli;

import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/** Turns an exception from a command into one line on stderr and exit code 1. */
final class UserErrorHandler implements IExecutionExceptionHandler {

  @Override
  public int handleExecutionException(Exception e, CommandLine cli, ParseResult parsed) {
    String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    cli.getErr().println("laketune " + cli.getCommandName() + ": " + message);
    if (System.getenv("LAKETUNE_STACKTRACE") != null || Boolean.getBoolean("laketune.stacktrace")) {
      e.printStackTrace(cli.getErr());
    }
    return 1;
  }
}
