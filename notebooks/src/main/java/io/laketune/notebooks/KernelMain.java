package io.laketune.notebooks;

import java.net.URISyntaxException;
import java.nio.file.Path;
import org.rapaio.jupyter.kernel.MainApp;
import org.rapaio.jupyter.kernel.channels.LoopThread;

/**
 * The laketune-java kernel's main class: rapaio-jupyter-kernel's own {@code MainApp}, started once it is
 * certain that the channel threads are laketune's {@link LoopThread} (which fixes 3.0.1's start-up races)
 * and not the kernel jar's. That depends on the class path order install-kernel.sh writes into kernel.json.
 */
public final class KernelMain {
  private KernelMain() {}

  public static void main(String[] args) throws Exception {
    Path loaded = codeSource(LoopThread.class), ours = codeSource(KernelMain.class);
    if (!loaded.equals(ours)) {
      throw new IllegalStateException("the kernel's LoopThread was loaded from " + loaded + ", not from " + ours
          + ": put " + ours + " before the rapaio-jupyter-kernel jar on -cp (run notebooks/install-kernel.sh again)");
    }
    MainApp.main(args);
  }

  static Path codeSource(Class<?> c) throws URISyntaxException {
    return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
  }
}
