package io.peersocket.netns;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Test harness: real NATs built from Linux network namespaces (needs root, {@code ip} from iproute2 and
 * {@code iptables}). Everything lives inside namespaces this object creates; nothing is added to the
 * machine's own network namespace, and the private ranges used (10.201.0.0/24 for the "public" network,
 * 192.168.N.0/24 behind router N) are routed only between them.
 *
 * <pre>
 *   [PREFIX-h-NAME] eth0 10.201.0.X ──┐
 *                                     ├── br0 in [PREFIX-pub] (the "Internet")
 *   [PREFIX-r-NAME] wan 10.201.0.Y ───┘
 *        lan 192.168.N.1 ── eth0 192.168.N.2 [PREFIX-h-HOST]   (NAT: MASQUERADE on wan)
 * </pre>
 *
 * <p>Routers: {@link Nat#CONE} is plain {@code MASQUERADE} (endpoint-independent mapping: the source port is
 * kept when free); {@link Nat#SYMMETRIC} adds {@code --random-fully} (a new random port per destination).
 * Both drop unsolicited inbound traffic as home routers do: {@code FORWARD} from wan accepts only
 * ESTABLISHED/RELATED, and {@code INPUT} on wan drops NEW (otherwise a first punch reaching the router itself
 * would create a conntrack entry that breaks the mapping). Loss is {@code iptables -m statistic} (tc netem is
 * not available here).
 *
 * <p>Names: every namespace starts with {@code psn<PID>-} (the JVM's pid), unique per run; the constructor
 * deletes namespaces left by an earlier run whose JVM is gone. {@link #close()} (also run by a shutdown hook)
 * kills processes started with {@link #start} and deletes every namespace made. Not thread-safe.
 */
public final class NetNs implements AutoCloseable {
    /** How a router translates. */
    public enum Nat { CONE, SYMMETRIC }

    private static final Pattern OURS = Pattern.compile("^psn(\\d+)-\\S*");
    private static final String PUB_NET = "10.201.0.";

    private final String prefix = "psn" + ProcessHandle.current().pid() + "-";
    private final List<String> namespaces = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();
    private final Thread hook = new Thread(this::cleanup, "netns-cleanup");
    private int nextPublic = 1;
    private int nextRouter = 1;
    private int vethSeq;
    private boolean closed;

    /**
     * Checks for root and the tools, removes leftovers of crashed runs, and creates the public network.
     *
     * @throws IllegalStateException with what is missing if namespaces cannot be made (tests must fail)
     */
    public NetNs() {
        if (!"root".equals(System.getProperty("user.name")) && !isUidZero()) {
            throw new IllegalStateException("network namespace tests need root (run the build as root, as CI does)");
        }
        for (String tool : List.of("ip", "iptables")) {
            if (run(List.of("sh", "-c", "command -v " + tool)).code != 0) {
                throw new IllegalStateException(tool + " is not installed (apt-get install -y iproute2 iptables)");
            }
        }
        removeLeftovers();
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            String pub = create("pub");
            ip(pub, "link", "add", "br0", "type", "bridge");
            ip(pub, "link", "set", "br0", "up");
        } catch (RuntimeException e) {
            cleanup();
            throw new IllegalStateException("cannot create network namespaces: " + e.getMessage(), e);
        }
    }

    /** A host with its namespace and IPv4 address. */
    public record Host(String namespace, String ip) {}

    /** A host directly on the public network (10.201.0.X). */
    public Host publicHost(String name) {
        return publicHost(name, 0);
    }

    /**
     * A host directly on the public network with {@code lossPercent} random packet loss in each direction on its
     * link (0 for none).
     */
    public Host publicHost(String name, int lossPercent) {
        String ns = create("h-" + name);
        String ip = PUB_NET + nextPublic++;
        attachToBridge(ns, "eth0", ip);
        if (lossPercent > 0) {
            String p = String.valueOf(lossPercent / 100.0);
            exec(ns, "iptables", "-A", "INPUT", "-i", "eth0", "-m", "statistic", "--mode", "random", "--probability", p, "-j", "DROP");
            exec(ns, "iptables", "-A", "OUTPUT", "-o", "eth0", "-m", "statistic", "--mode", "random", "--probability", p, "-j", "DROP");
        }
        return new Host(ns, ip);
    }

    /**
     * Makes {@code router} forget its NAT mappings and conntrack state for flows to and from {@code remoteIp}
     * ({@code conntrack -D}), so the next packets between them are NEW again (unsolicited inbound is dropped, an
     * outbound one gets a fresh mapping). Other flows, e.g. to an introducer, stay.
     *
     * @throws IllegalStateException if {@code conntrack} is not installed (apt-get install -y conntrack)
     */
    public void forgetFlows(String router, String remoteIp) {
        if (run(List.of("sh", "-c", "command -v conntrack")).code != 0) {
            throw new IllegalStateException("conntrack is not installed (apt-get install -y conntrack)");
        }
        // exit code 1 when nothing matched: fine
        run(List.of("ip", "netns", "exec", router, "conntrack", "-D", "--orig-dst", remoteIp));
        run(List.of("ip", "netns", "exec", router, "conntrack", "-D", "--orig-src", remoteIp));
    }

    /** A router on the public network and one host behind it. */
    public record Private(Host host, String router, String externalIp) {}

    /**
     * A host behind a router of kind {@code nat} with {@code lossPercent} random packet loss in each direction
     * through the router (0 for none).
     */
    public Private privateHost(String name, Nat nat, int lossPercent) {
        int n = nextRouter++;
        String router = create("r-" + name);
        String wanIp = PUB_NET + (255 - n);
        attachToBridge(router, "wan", wanIp);
        String host = create("h-" + name);
        String lan = "192.168." + n + ".";
        ip(null, "link", "add", "lan", "netns", router, "type", "veth", "peer", "name", "eth0", "netns", host);
        ip(router, "addr", "add", lan + "1/24", "dev", "lan");
        ip(router, "link", "set", "lan", "up");
        ip(host, "addr", "add", lan + "2/24", "dev", "eth0");
        ip(host, "link", "set", "eth0", "up");
        ip(host, "route", "add", "default", "via", lan + "1");
        exec(router, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
        List<String> masq = new ArrayList<>(List.of("iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE"));
        if (nat == Nat.SYMMETRIC) masq.add("--random-fully");
        exec(router, masq.toArray(String[]::new));
        exec(router, "iptables", "-A", "FORWARD", "-i", "wan", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT");
        exec(router, "iptables", "-A", "FORWARD", "-i", "wan", "-j", "DROP");
        exec(router, "iptables", "-A", "INPUT", "-i", "wan", "-m", "conntrack", "--ctstate", "NEW", "-j", "DROP");
        if (lossPercent > 0) {
            String p = String.valueOf(lossPercent / 100.0);
            exec(router, "iptables", "-I", "FORWARD", "-m", "statistic", "--mode", "random", "--probability", p, "-j", "DROP");
        }
        return new Private(new Host(host, lan + "2"), router, wanIp);
    }

    /** Runs {@code command} in {@code namespace} and waits (30 s at most); throws with its output if it fails. */
    public String exec(String namespace, String... command) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", namespace));
        Collections.addAll(cmd, command);
        Result r = run(cmd);
        if (r.code != 0) throw new IllegalStateException(String.join(" ", cmd) + " failed (" + r.code + "): " + r.output.strip());
        return r.output;
    }

    /**
     * Starts {@code command} in {@code namespace} ({@code ip netns exec}, which execs it: the process is the
     * command); stderr goes to {@code stderrFile} if not null, else is discarded. Killed by {@link #close()}.
     */
    public Process start(String namespace, List<String> command, java.io.File stderrFile) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", namespace));
        cmd.addAll(command);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.redirectError(stderrFile == null ? ProcessBuilder.Redirect.DISCARD : ProcessBuilder.Redirect.appendTo(stderrFile));
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    /** Namespaces currently present whose name starts with this run's prefix. */
    public List<String> ourNamespaces() {
        List<String> out = new ArrayList<>();
        for (String ns : listNamespaces()) if (ns.startsWith(prefix)) out.add(ns);
        return out;
    }

    public String prefix() { return prefix; }

    /** Kills started processes and deletes every namespace of this run. Idempotent. */
    @Override public void close() {
        cleanup();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // shutting down: the hook is running
        }
    }

    private synchronized void cleanup() {
        if (closed) return;
        closed = true;
        for (Process p : processes) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        for (Process p : processes) {
            try {
                p.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        processes.clear();
        List<String> all = new ArrayList<>(namespaces);
        for (String ns : listNamespaces()) if (ns.startsWith(prefix) && !all.contains(ns)) all.add(ns);
        for (String ns : all) deleteNamespace(ns);
        namespaces.clear();
    }

    // ---- internals ------------------------------------------------------------------------------

    private String create(String role) {
        String ns = prefix + role;
        namespaces.add(ns);
        ip(null, "netns", "add", ns);
        ip(ns, "link", "set", "lo", "up");
        return ns;
    }

    private void attachToBridge(String ns, String dev, String ip) {
        String pub = prefix + "pub";
        String port = "p" + (++vethSeq);
        ip(null, "link", "add", dev, "netns", ns, "type", "veth", "peer", "name", port, "netns", pub);
        ip(pub, "link", "set", port, "master", "br0");
        ip(pub, "link", "set", port, "up");
        ip(ns, "addr", "add", ip + "/24", "dev", dev);
        ip(ns, "link", "set", dev, "up");
    }

    /** {@code ip [-n NS] ARGS}; throws with the output on failure. */
    private static void ip(String ns, String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip"));
        if (ns != null) cmd.addAll(List.of("-n", ns));
        Collections.addAll(cmd, args);
        Result r = run(cmd);
        if (r.code != 0) throw new IllegalStateException(String.join(" ", cmd) + " failed (" + r.code + "): " + r.output.strip());
    }

    private static void deleteNamespace(String ns) {
        Result pids = run(List.of("ip", "netns", "pids", ns));
        for (String line : pids.output.split("\\s+")) {
            if (line.matches("\\d+")) ProcessHandle.of(Long.parseLong(line)).ifPresent(ProcessHandle::destroyForcibly);
        }
        run(List.of("ip", "netns", "del", ns));
    }

    private static void removeLeftovers() {
        for (String ns : listNamespaces()) {
            Matcher m = OURS.matcher(ns);
            if (!m.matches()) continue;
            long pid = Long.parseLong(m.group(1));
            if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) continue;
            deleteNamespace(ns);
        }
    }

    private static List<String> listNamespaces() {
        List<String> out = new ArrayList<>();
        Result r = run(List.of("ip", "netns", "list"));
        for (String line : r.output.split("\n")) {
            String name = line.strip().split("\\s+")[0];
            if (!name.isEmpty()) out.add(name);
        }
        return out;
    }

    private static boolean isUidZero() {
        Result r = run(List.of("id", "-u"));
        return r.code == 0 && r.output.strip().equals("0");
    }

    private record Result(int code, String output) {}

    private static Result run(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, "timed out: " + String.join(" ", cmd));
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            return new Result(-1, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, "interrupted");
        }
    }
}
