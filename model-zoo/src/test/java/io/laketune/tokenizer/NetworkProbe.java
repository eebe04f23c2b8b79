package io.laketune.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketImpl;
import java.net.URI;
import java.net.URL;
import java.net.URLConnection;
import java.net.URLStreamHandler;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * Main class of the child JVM that {@link NoNetworkTest} starts. Before anything else it makes
 * every network attempt of the JVM visible and refused: a URL handler for http/https/ftp (sees
 * the URL even when the caller passes {@code Proxy.NO_PROXY}, as DJL does), a socket factory
 * (sees every {@code java.net.Socket} connect) and a proxy selector. Then it runs one mode and
 * prints each attempt as a line {@code ATTEMPT ...}, then {@code DONE}.
 *
 * <ul>
 *   <li>{@code probe}: opens a URL and a socket on purpose; both must be seen.
 *   <li>{@code djl DIR}: creates a DJL tokenizer directly, bypassing laketune; DJL's telemetry
 *       must be seen, or the test proves nothing.
 *   <li>{@code laketune DIR}: loads and uses laketune's Tokenizer and chat template; prints
 *       {@code QUIET} when nothing was attempted, then probes once on purpose.
 * </ul>
 */
public final class NetworkProbe {

  private static final List<String> ATTEMPTS = Collections.synchronizedList(new ArrayList<>());

  public static void main(String[] args) throws Exception {
    install();
    switch (args[0]) {
      case "probe" -> probe();
      case "djl" -> {
        try (HuggingFaceTokenizer t = HuggingFaceTokenizer.newInstance(Path.of(args[1]))) {
          t.encode("hello");
        }
      }
      case "laketune" -> {
        try (Tokenizer t = Tokenizer.load(Path.of(args[1]))) {
          int[] ids = t.encode("Hello <|eot_id|> world 😀");
          t.encodeWithOffsets("Hello", false);
          t.decode(ids, true);
          t.chatTemplate()
              .orElseThrow()
              .render(List.of(Map.of("role", "user", "content", "hi")), true);
        }
        System.out.println(ATTEMPTS.isEmpty() ? "QUIET" : "NOT QUIET");
        System.out.println("CACHE " + System.getProperty("DJL_CACHE_DIR"));
        probe();
      }
      default -> throw new IllegalArgumentException("unknown mode " + args[0]);
    }
    synchronized (ATTEMPTS) {
      ATTEMPTS.forEach(a -> System.out.println("ATTEMPT " + a));
    }
    System.out.println("DONE");
  }

  private static void probe() {
    try {
      new URL("http://169.254.169.254/latest/api/token").openConnection(Proxy.NO_PROXY).connect();
    } catch (IOException expected) {
      // Refused by the recorder.
    }
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(InetAddress.getByAddress(new byte[] {10, 0, 0, 1}), 9), 1);
    } catch (IOException expected) {
      // Refused by the recorder.
    }
  }

  private static void install() throws IOException {
    URL.setURLStreamHandlerFactory(
        protocol ->
            List.of("http", "https", "ftp").contains(protocol) ? new RefusingHandler() : null);
    Socket.setSocketImplFactory(RefusingSocket::new);
    ProxySelector.setDefault(
        new ProxySelector() {
          @Override
          public List<Proxy> select(URI uri) {
            ATTEMPTS.add("proxy-select " + uri);
            return List.of(Proxy.NO_PROXY);
          }

          @Override
          public void connectFailed(URI uri, SocketAddress sa, IOException ioe) {}
        });
  }

  private static final class RefusingHandler extends URLStreamHandler {
    @Override
    protected URLConnection openConnection(URL u) throws IOException {
      ATTEMPTS.add("url " + u);
      throw new ConnectException("refused by NetworkProbe");
    }

    @Override
    protected URLConnection openConnection(URL u, Proxy p) throws IOException {
      return openConnection(u);
    }
  }

  private static final class RefusingSocket extends SocketImpl {
    @Override
    protected void create(boolean stream) {}

    @Override
    protected void connect(String host, int port) throws IOException {
      refuse(host + ":" + port);
    }

    @Override
    protected void connect(InetAddress address, int port) throws IOException {
      refuse(address + ":" + port);
    }

    @Override
    protected void connect(SocketAddress address, int timeout) throws IOException {
      refuse(String.valueOf(address));
    }

    private static void refuse(String where) throws IOException {
      ATTEMPTS.add("socket " + where);
      throw new ConnectException("refused by NetworkProbe");
    }

    @Override
    protected void bind(InetAddress host, int port) throws IOException {
      refuse("bind " + host + ":" + port);
    }

    @Override
    protected void listen(int backlog) {}

    @Override
    protected void accept(SocketImpl s) throws IOException {
      refuse("accept");
    }

    @Override
    protected InputStream getInputStream() throws IOException {
      throw new IOException("not connected");
    }

    @Override
    protected OutputStream getOutputStream() throws IOException {
      throw new IOException("not connected");
    }

    @Override
    protected int available() {
      return 0;
    }

    @Override
    protected void close() {}

    @Override
    protected void sendUrgentData(int data) throws IOException {
      throw new IOException("not connected");
    }

    @Override
    public void setOption(int optID, Object value) {}

    @Override
    public Object getOption(int optID) {
      return null;
    }
  }
}
