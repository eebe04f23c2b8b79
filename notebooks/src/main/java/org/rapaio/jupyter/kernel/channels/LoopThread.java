package org.rapaio.jupyter.kernel.channels;

import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * laketune's version of rapaio-jupyter-kernel 3.0.1's channel thread, loaded in place of the kernel jar's
 * (install-kernel.sh puts {@code notebooks/target/classes} ahead of it; {@code io.laketune.notebooks.KernelMain}
 * refuses to start otherwise). Same constructor and methods; two start-up races fixed:
 * <ul>
 *   <li>3.0.1's {@code start()} calls {@code Thread.start()} before it sets {@code running}, so a thread the
 *       scheduler runs at once reads {@code false} and ends before its first poll. Whichever channel that
 *       hits (shell, control, heartbeat) goes deaf; when it is the shell, the kernel never answers
 *       {@code kernel_info_request} and Jupyter gives up ("Kernel didn't respond in 60 seconds").</li>
 *   <li>{@code Channels.connect} starts the shell thread before it creates its map of handlers. A
 *       {@code kernel_info_request} that was waiting when the socket bound then throws a
 *       NullPointerException, which ended the thread for good. Here it is logged and the loop goes on;
 *       the client asks again a second later, when the handlers are there.</li>
 * </ul>
 * On a loaded 2-core machine the two together hung 3 of 12 kernel starts.
 */
public final class LoopThread extends Thread {
  private static final Logger LOGGER = Logger.getLogger(LoopThread.class.getSimpleName());

  private volatile boolean running;
  private final long sleepMillis;
  private final Runnable loopBody;

  public LoopThread(String name, long sleepMillis, Runnable loopBody) {
    super(name);
    this.sleepMillis = sleepMillis;
    this.loopBody = loopBody;
  }

  @Override
  public void run() {
    while (running) {
      try {
        loopBody.run();
      } catch (RuntimeException e) {
        if (running) LOGGER.log(Level.SEVERE, getName() + ": a message could not be handled; the channel goes on", e);
      }
      try {
        Thread.sleep(sleepMillis);
      } catch (InterruptedException e) {
        running = false;
      }
    }
  }

  @Override
  public synchronized void start() {
    running = true; // before the thread exists, so its first look at it sees true
    super.start();
  }

  public void shutdown() {
    running = false;
  }
}
