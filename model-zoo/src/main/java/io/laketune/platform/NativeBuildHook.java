package io.laketune.platform;

import org.nd4j.common.io.Resource;
import org.nd4j.linalg.factory.Environment;
import org.nd4j.linalg.factory.Nd4jBackend;

/**
 * Makes ND4J's own start-up choose the native build, whatever code touches ND4J first.
 *
 * <p>{@code Nd4jBackend.load()} instantiates every {@code org.nd4j.linalg.factory.Nd4jBackend} listed
 * in {@code META-INF/services} before it asks any of them whether it is available, and only then loads
 * native code. model-zoo lists this class there, so its constructor runs {@link NativeBuilds#initQuietly()} (and reports a problem)
 * before the first native library loads, without relying on laketune's classes being initialised first.
 * It is never the backend itself: its priority is below every real backend's, so ND4J picks the CPU or
 * CUDA backend and never asks this one; should it ever be asked, it answers "unavailable".
 *
 * <p>A fat jar that merges service files must keep both entries (Maven Shade's ServicesResourceTransformer).
 */
public final class NativeBuildHook extends Nd4jBackend {

  public NativeBuildHook() {
    NativeBuilds.initQuietly();
    NativeBuilds.reportOnce();
  }

  @Override
  public int getPriority() {
    return Integer.MIN_VALUE / 2;
  }

  @Override
  public boolean isAvailable() {
    return false;
  }

  @Override
  public boolean canRun() {
    return false;
  }

  @Override
  public boolean allowsOrder() {
    return false;
  }

  @Override
  public Resource getConfigurationResource() {
    throw new UnsupportedOperationException("laketune's native-build hook is not an ND4J backend");
  }

  @Override
  public Class getNDArrayClass() {
    throw new UnsupportedOperationException("laketune's native-build hook is not an ND4J backend");
  }

  @Override
  public Environment getEnvironment() {
    throw new UnsupportedOperationException("laketune's native-build hook is not an ND4J backend");
  }

  @Override
  public String buildInfo() {
    return "laketune native-build hook";
  }

  @Override
  public void logBackendInit() {}
}
