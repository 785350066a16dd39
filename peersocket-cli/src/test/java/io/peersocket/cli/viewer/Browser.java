package io.peersocket.cli.viewer;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real headless Debian Chromium driven through chromedriver's W3C WebDriver HTTP API (no Selenium): open a
 * page, evaluate JavaScript, wait for a condition in the page, take a screenshot. Chromium runs with
 * --headless --no-sandbox --disable-gpu --disable-background-networking and a fresh profile directory.
 *
 * <p>Binaries: {@code /usr/bin/chromium} and {@code /usr/bin/chromedriver} (Debian packages {@code chromium} and
 * {@code chromium-driver}), or the system properties / environment variables {@code CHROMIUM} and
 * {@code CHROMEDRIVER}. {@link #start} fails with an explanation if they are missing: the browser tests never
 * skip.
 */
public final class Browser implements AutoCloseable {
    private final Process driver;
    private final Path profile;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final String base;
    private final StringBuffer driverLog = new StringBuffer();
    private String session;

    private Browser(Process driver, Path profile, int port) {
        this.driver = driver;
        this.profile = profile;
        this.base = "http://127.0.0.1:" + port;
    }

    /** The Chromium binary to use; fails (AssertionError) with install instructions if it is missing. */
    public static Path chromium() {
        return binary("CHROMIUM", "/usr/bin/chromium", "chromium");
    }

    private static Path binary(String override, String dflt, String pkg) {
        String p = System.getProperty(override, System.getenv(override) == null ? dflt : System.getenv(override));
        Path path = Path.of(p);
        if (!Files.isExecutable(path)) {
            throw new AssertionError(path + " not found: the viewer's browser tests need a real headless Chromium. "
                    + "Install it with 'apt-get update && apt-get install -y chromium chromium-driver' (as .ci/run does), "
                    + "or set -D" + override + "=/path/to/" + pkg);
        }
        return path;
    }

    /**
     * Starts chromedriver and one headless Chromium session.
     *
     * @param width window width, px
     * @param height window height, px
     */
    public static Browser start(int width, int height) throws Exception {
        Path chromium = chromium();
        // Debian's /usr/bin/chromium is a wrapper script; chromedriver wants the browser binary itself.
        Path real = Path.of("/usr/lib/chromium/chromium");
        Path binary = chromium.toString().equals("/usr/bin/chromium") && Files.isExecutable(real) ? real : chromium;
        Path chromedriver = binary("CHROMEDRIVER", "/usr/bin/chromedriver", "chromedriver");
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Process p = new ProcessBuilder(chromedriver.toString(), "--port=" + port, "--allowed-ips=127.0.0.1")
                .redirectErrorStream(true).start();
        Path profile = Files.createTempDirectory("peersocket-chromium-");
        Browser b = new Browser(p, profile, port);
        CompletableFuture<Void> started = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    b.driverLog.append(line).append('\n');
                    if (line.contains("started successfully")) started.complete(null);
                }
            } catch (IOException ignored) {
                // driver ended
            }
            started.completeExceptionally(new IllegalStateException("chromedriver exited: " + b.driverLog));
        });
        try {
            started.get(30, TimeUnit.SECONDS);
            List<String> args = new ArrayList<>(List.of("--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                    "--disable-quic", "--disable-dev-shm-usage", "--hide-scrollbars",
                    "--window-size=" + width + "," + height, "--user-data-dir=" + profile));
            Map<String, Object> caps = Map.of("capabilities", Map.of("alwaysMatch", Map.of(
                    "browserName", "chrome",
                    "goog:chromeOptions", Map.of("binary", binary.toString(), "args", args))));
            Map<String, Object> v = b.call("POST", "/session", caps);
            b.session = (String) v.get("sessionId");
            b.call("POST", "/session/" + b.session + "/timeouts", Map.of("script", 120_000, "pageLoad", 60_000));
            return b;
        } catch (Exception | AssertionError e) {
            b.close();
            throw e;
        }
    }

    /** Navigates to {@code uri} and waits for the page's load event. */
    public void open(URI uri) throws Exception {
        call("POST", "/session/" + session + "/url", Map.of("url", uri.toString()));
    }

    /** Evaluates {@code script} (a function body; {@code return} gives the result) in the page. */
    public Object eval(String script) throws Exception {
        return call("POST", "/session/" + session + "/execute/sync", Map.of("script", script, "args", List.of())).get("value");
    }

    /** Evaluates {@code script}, which must return a number, as an int. */
    public int evalInt(String script) throws Exception {
        Object v = eval(script);
        if (!(v instanceof Number n)) throw new AssertionError("expected a number from '" + script + "', got " + v);
        return n.intValue();
    }

    /**
     * Waits in the page, checking every 100 ms, until the JavaScript expression {@code condition} is truthy.
     *
     * @return the expression's value
     * @throws AssertionError if it is still falsy after {@code timeout}; the message includes {@code explain}
     *     evaluated in the page
     */
    public Object await(String condition, Duration timeout, String explain) throws Exception {
        String script = "const done = arguments[arguments.length - 1]; const t0 = Date.now();"
                + "const check = () => { let v = null; try { v = (" + condition + "); } catch (e) { v = null; }"
                + "  if (v) done({ok: true, value: v});"
                + "  else if (Date.now() - t0 > " + timeout.toMillis() + ") { let x; try { x = (" + explain + "); } catch (e) { x = String(e); } done({ok: false, value: x}); }"
                + "  else setTimeout(check, 100); };"
                + "check();";
        Object r = call("POST", "/session/" + session + "/execute/async", Map.of("script", script, "args", List.of())).get("value");
        if (!(r instanceof Map<?, ?> m) || !Boolean.TRUE.equals(m.get("ok"))) {
            throw new AssertionError("page condition '" + condition + "' not met within " + timeout + "; page state: "
                    + (r instanceof Map<?, ?> mm ? mm.get("value") : r));
        }
        return m.get("value");
    }

    /** A PNG screenshot of the window, saved to {@code file} (parent dirs created). */
    public void screenshot(Path file) throws Exception {
        String b64 = (String) call("GET", "/session/" + session + "/screenshot", null).get("value");
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.write(file, Base64.getDecoder().decode(b64));
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> call(String method, String path, Object body) throws Exception {
        HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(150));
        if (body == null) rb.method(method, HttpRequest.BodyPublishers.noBody());
        else rb.method(method, HttpRequest.BodyPublishers.ofString(JSON.std.asString(body))).header("Content-Type", "application/json");
        HttpResponse<String> r = http.send(rb.build(), HttpResponse.BodyHandlers.ofString());
        Map<String, Object> m = JSON.std.mapFrom(r.body());
        Object value = m.get("value");
        if (r.statusCode() != 200) {
            throw new IllegalStateException("WebDriver " + method + " " + path + ": HTTP " + r.statusCode() + " " + value
                    + "\nchromedriver log:\n" + driverLog);
        }
        if (path.equals("/session") && value instanceof Map<?, ?> v) return (Map<String, Object>) v;
        return m;
    }

    @Override public void close() {
        if (session != null) {
            try {
                call("DELETE", "/session/" + session, null);
            } catch (Exception ignored) {
                // the driver goes anyway
            }
        }
        driver.destroy();
        try {
            if (!driver.waitFor(10, TimeUnit.SECONDS)) driver.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try (Stream<Path> walk = Files.walk(profile)) {
            walk.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
            // best effort
        }
    }
}
