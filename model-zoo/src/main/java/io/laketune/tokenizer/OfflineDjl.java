package io.laketune.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;

/**
 * The only way laketune creates a DJL tokenizer. Its static initializer runs before any DJL code
 * does and switches off what DJL would otherwise do on its own:
 *
 * <ul>
 *   <li>Telemetry. DJL 0.38's {@code Ec2Utils.callHome}, run by every {@code
 *       HuggingFaceTokenizer.newInstance}, asks the cloud metadata address 169.254.169.254 for an
 *       instance id and then requests a URL in S3, unless {@code Utils.isOfflineMode()} (env {@code
 *       DJL_OFFLINE}, else property {@code ai.djl.offline}, else property {@code offline}) or
 *       {@code OPT_OUT_TRACKING} (env, else property) is true.
 *   <li>Downloads. With a GPU visible, DJL's {@code LibUtils} picks a CUDA flavour of the native
 *       library and downloads it; offline mode pins the CPU library shipped inside the jar.
 * </ul>
 *
 * DJL reads environment variables before system properties, so a user who exports {@code
 * DJL_OFFLINE=false} or {@code OPT_OUT_TRACKING=false} has asked for that behaviour and gets it.
 *
 * <p>DJL extracts the native library to {@code $DJL_CACHE_DIR} (default {@code ~/.djl.ai}), and to
 * {@code java.io.tmpdir/.djl.ai} when the home directory is not writable. That shared folder
 * belongs to whichever user created it first, so on a multi-user cluster node the next user cannot
 * write there; laketune then uses a folder of its own per user instead. The same goes for JNA,
 * which DJL loads to look for CUDA and which unpacks into {@code ~/.cache/JNA} unless {@code
 * jna.tmpdir} says otherwise.
 */
final class OfflineDjl {

  static {
    setIfAbsent("ai.djl.offline", "true");
    setIfAbsent("OPT_OUT_TRACKING", "true");
    if (!homeWritable()) {
      Path cache =
          Paths.get(
              System.getProperty("java.io.tmpdir"),
              "laketune-djl-" + System.getProperty("user.name", "user"));
      if (unset("DJL_CACHE_DIR") && unset("ENGINE_CACHE_DIR")) {
        System.setProperty("DJL_CACHE_DIR", cache.toString());
      }
      setIfAbsent("jna.tmpdir", cache.resolve("jna").toString());
    }
  }

  private OfflineDjl() {}

  /**
   * DJL's state as it will act: offline mode, whether usage tracking is off, and the folder its
   * native library is unpacked to. Reading it applies the settings above first, and touches no network.
   */
  static String[] state() {
    boolean tracking = !Boolean.parseBoolean(firstSet("OPT_OUT_TRACKING"));
    return new String[] {Boolean.toString(ai.djl.util.Utils.isOfflineMode()), Boolean.toString(!tracking),
        ai.djl.util.Utils.getCacheDir().toString()};
  }

  private static String firstSet(String name) {
    String env = System.getenv(name);
    return env != null && !env.isEmpty() ? env : System.getProperty(name);
  }

  /**
   * A tokenizer for the contents of a tokenizer.json that applies exactly what the file says, like
   * Hugging Face's {@code tokenizer(text)}: special tokens from its post-processor when asked for,
   * no truncation, no padding. DJL's defaults would truncate to 512 tokens and pad. No
   * tokenizer_config.json is handed to DJL, so it adds no prefix space and strips no accents.
   */
  static HuggingFaceTokenizer newTokenizer(String tokenizerJson) throws IOException {
    Map<String, String> options =
        Map.of("addSpecialTokens", "true", "truncation", "false", "padding", "false");
    byte[] bytes = tokenizerJson.getBytes(StandardCharsets.UTF_8);
    return HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(bytes), options);
  }

  private static void setIfAbsent(String key, String value) {
    if (System.getProperty(key) == null) {
      System.setProperty(key, value);
    }
  }

  private static boolean unset(String name) {
    String env = System.getenv(name);
    String prop = System.getProperty(name);
    return (env == null || env.isEmpty()) && (prop == null || prop.isEmpty());
  }

  private static boolean homeWritable() {
    String home = System.getProperty("user.home");
    return home != null && Files.isWritable(Paths.get(home));
  }
}
