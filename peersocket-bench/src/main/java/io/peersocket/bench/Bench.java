package io.peersocket.bench;

import io.peersocket.bench.baseline.NettyQuicBaseline;
import io.peersocket.bench.baseline.TcpBaseline;
import java.io.PrintStream;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Compares Peersocket with raw TCP and raw Netty QUIC on loopback, in one run: request/reply round trips
 * (1 and {@link Settings#depth()} outstanding), one-stream bulk transfer, and connection set-up. Prints a plain
 * table, then the same results as markdown for {@code docs/benchmarks.md}. Run it with {@code peersocket-bench/run}.
 *
 * <pre>
 * Bench [--quick] [--duration SECONDS] [--warmup SECONDS] [--repeat N] [--bulk-mb MIB] [--connects N]
 *       [--only rr,rr16,bulk,connect] [--stacks tcp,quic,ours]
 * </pre>
 *
 * Exit status: 0 if every measurement ran (whether or not the targets are met), 1 if one failed, 2 on bad
 * arguments.
 */
public final class Bench {
    static final Set<String> SCENARIOS = new LinkedHashSet<>(List.of("rr", "rr16", "bulk", "connect"));
    static final Set<String> STACKS = new LinkedHashSet<>(List.of("tcp", "quic", "ours"));
    /** Targets from the project plan: ours / raw TCP. */
    static final double RR_TARGET = 0.5;
    static final double BULK_TARGET = 0.3;

    private final Settings settings;
    private final String mode;
    private final Set<String> only;
    private Set<String> stacks = STACKS;
    private final PrintStream out = System.out;
    private final List<String> failures = new ArrayList<>();

    // results (null when skipped or failed)
    RrResult tcpRr, quicRr, oursRr, oursRrInline, tcpRr16, quicRr16, oursRr16, oursRr16Inline;
    BulkResult tcpBulk, quicBulk, quicBulkSmall, oursBulk;
    ConnectResult quicConnect, quicConnectMutual, oursDial, oursConnect;
    String ioMode = "?";
    String loadBefore = "unknown";
    String loadAfter = "unknown";

    Bench(Settings settings, String mode, Set<String> only) {
        this.settings = settings;
        this.mode = mode;
        this.only = only;
    }

    public static void main(String[] args) throws Exception {
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        }
        Settings s = Settings.full();
        String mode = "full";
        Set<String> only = SCENARIOS;
        Set<String> stacks = STACKS;
        Long durationMs = null;
        Long warmupMs = null;
        Integer repeat = null;
        try {
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--quick" -> {
                        s = Settings.quick();
                        mode = "quick";
                    }
                    case "--duration" -> durationMs = seconds(args, ++i);
                    case "--warmup" -> warmupMs = seconds(args, ++i);
                    case "--bulk-mb" -> s = s.withBulkBytes(positive(args, ++i) << 20);
                    case "--connects" -> s = s.withConnects((int) Math.min(100_000, positive(args, ++i)));
                    case "--repeat" -> repeat = (int) Math.min(100, positive(args, ++i));
                    case "--only" -> {
                        only = new LinkedHashSet<>(Arrays.asList(value(args, ++i).split(",")));
                        for (String o : only) {
                            if (!SCENARIOS.contains(o)) throw new IllegalArgumentException("unknown scenario '" + o
                                    + "' (use " + String.join(",", SCENARIOS) + ")");
                        }
                    }
                    case "--stacks" -> {
                        stacks = new LinkedHashSet<>(Arrays.asList(value(args, ++i).split(",")));
                        for (String o : stacks) {
                            if (!STACKS.contains(o)) throw new IllegalArgumentException("unknown stack '" + o
                                    + "' (use " + String.join(",", STACKS) + ")");
                        }
                    }
                    case "-h", "--help" -> {
                        usage(System.out);
                        return;
                    }
                    default -> throw new IllegalArgumentException("unknown argument '" + args[i] + "'");
                }
            }
        } catch (IllegalArgumentException e) {
            System.err.println("bench: " + e.getMessage());
            usage(System.err);
            System.exit(2);
        }
        if (durationMs != null) s = s.withDurationMs(durationMs);
        if (warmupMs != null) s = s.withWarmupMs(warmupMs);
        if (repeat != null) s = s.withRepeat(repeat);
        Bench b = new Bench(s, mode, only);
        b.stacks = stacks;
        b.run();
        System.exit(b.failures.isEmpty() ? 0 : 1);
    }

    private static void usage(PrintStream p) {
        p.println("""
                usage: peersocket-bench/run [--quick] [--duration SECONDS] [--warmup SECONDS] [--repeat N]
                                            [--bulk-mb MIB] [--connects N] [--only rr,rr16,bulk,connect]
                                            [--stacks tcp,quic,ours]
                  --quick       short run (0.5 s warm-up, 2 s per measurement, 1 run, 32 MiB bulk, 20 connects)
                  --duration    seconds each measurement counts (default 10; bulk runs at least this long)
                  --warmup      seconds of warm-up before each measurement (default 3)
                  --repeat      runs of each request/reply and bulk measurement, median reported (default 3)
                  --bulk-mb     MiB a bulk receiver must get before it may stop (default 256)
                  --connects    timed connection set-ups per stack (default 50)
                  --only        run only these scenarios
                  --stacks      run only these stacks (e.g. --stacks ours while profiling)""");
    }

    private static String value(String[] args, int i) {
        if (i >= args.length) throw new IllegalArgumentException(args[i - 1] + " needs a value");
        return args[i];
    }

    private static long positive(String[] args, int i) {
        String v = value(args, i);
        try {
            long n = Long.parseLong(v);
            if (n < 1) throw new NumberFormatException();
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(args[i - 1] + " needs a positive integer, got '" + v + "'");
        }
    }

    private static long seconds(String[] args, int i) {
        String v = value(args, i);
        try {
            double d = Double.parseDouble(v);
            if (!(d > 0 && d <= 3600)) throw new NumberFormatException();
            return Math.round(d * 1000);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(args[i - 1] + " needs seconds in (0, 3600], got '" + v + "'");
        }
    }

    // ---- running ------------------------------------------------------------------------------------------

    @FunctionalInterface
    interface Step<T> {
        T run() throws Exception;
    }

    @FunctionalInterface
    interface NodeStep<T> {
        T run(PeersocketBench nodes) throws Exception;
    }

    /** Runs {@code step} on two fresh nodes. */
    private static <T> T withNodes(NodeStep<T> step) throws Exception {
        try (PeersocketBench o = new PeersocketBench()) {
            return step.run(o);
        }
    }

    /** Runs {@code step} on two fresh nodes whose server runs handlers on its event loop. */
    private static <T> T withInlineNodes(NodeStep<T> step) throws Exception {
        try (PeersocketBench o = new PeersocketBench(true)) {
            return step.run(o);
        }
    }

    /** Low and high of the primary metric over the runs of a repeated measurement, by result. */
    private final java.util.IdentityHashMap<Object, double[]> ranges = new java.util.IdentityHashMap<>();

    /**
     * Runs {@code step} {@link Settings#repeat()} times and returns the run with the median {@code metric}
     * (remembering the range), or null if any run failed.
     */
    private <T> T repeated(String what, java.util.function.ToDoubleFunction<T> metric, Step<T> step) {
        if (!stacks.contains(stackOf(what))) return null;
        int n = settings.repeat();
        List<T> runs = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            T r = step(n == 1 ? what : what + " [run " + i + "/" + n + "]", step);
            if (r == null) return null;
            runs.add(r);
        }
        runs.sort(java.util.Comparator.comparingDouble(metric));
        T median = runs.get((runs.size() - 1) / 2);
        ranges.put(median, new double[] {metric.applyAsDouble(runs.getFirst()), metric.applyAsDouble(runs.getLast())});
        return median;
    }

    /** "min–max" of a repeated measurement, or "" if it ran once. */
    private String range(Object result, String fmt) {
        double[] r = ranges.get(result);
        if (r == null || settings.repeat() < 2) return "";
        return String.format(Locale.ROOT, fmt + "–" + fmt, r[0], r[1]);
    }

    private static String stackOf(String label) {
        return label.startsWith("raw TCP") ? "tcp" : label.startsWith("raw Netty QUIC") ? "quic" : "ours";
    }

    private <T> T step(String what, Step<T> step) {
        if (!stacks.contains(stackOf(what))) return null;
        out.printf(Locale.ROOT, "  %-50s ", what);
        out.flush();
        System.gc();
        long t0 = System.nanoTime();
        try {
            T r = step.run();
            out.printf(Locale.ROOT, "%s  (%.1f s)%n", brief(r), (System.nanoTime() - t0) / 1e9);
            return r;
        } catch (Throwable e) {
            Throwable c = e;
            while (c.getCause() != null && (c instanceof java.util.concurrent.ExecutionException
                    || c instanceof java.util.concurrent.CompletionException)) c = c.getCause();
            out.println("FAILED: " + c);
            failures.add(what + ": " + c);
            return null;
        }
    }

    private static String brief(Object r) {
        return switch (r) {
            case RrResult x -> String.format(Locale.ROOT, "%,.0f round trips/s, p50 %.0f µs, p99 %.0f µs, CPU %.1f µs/rt",
                    x.perSecond(), x.p50Us(), x.p99Us(), x.cpuUsPerRoundTrip());
            case BulkResult x -> String.format(Locale.ROOT, "%,.0f MB/s (%,d MiB in %.1f s%s), CPU %.2f ms/MB",
                    x.mbPerSecond(), x.bytes() >> 20, x.seconds(), x.capped() ? ", time cap hit" : "", x.cpuMsPerMb());
            case ConnectResult x -> String.format(Locale.ROOT, "mean %.2f ms, p50 %.2f ms, p99 %.2f ms",
                    x.meanMs(), x.p50Ms(), x.p99Ms());
            default -> String.valueOf(r);
        };
    }

    void run() throws Exception {
        Machine m = Machine.describe();
        Settings s = settings;
        out.println("Peersocket benchmark, " + mode + " mode: warm-up " + s.warmupMs() / 1000.0 + " s, "
                + s.durationMs() / 1000.0 + " s per measurement");
        out.println("Machine: " + m);
        loadBefore = Machine.loadAverage();
        out.println("Load average (1/5/15 min) before: " + loadBefore + " — other work on the machine skews the results");
        out.println();
        try (NettyQuicBaseline q = new NettyQuicBaseline(false, NettyQuicBaseline.LOOPBACK_UDP_PAYLOAD)) {
            ioMode = q.ioMode();
            if (only.contains("rr")) {
                out.println("Request/reply, " + s.payloadBytes() + " B each way, 1 outstanding:");
                tcpRr = repeated("raw TCP", RrResult::perSecond, () -> TcpBaseline.requestReply(s));
                quicRr = repeated("raw Netty QUIC", RrResult::perSecond, () -> q.requestReply(s, 1));
                oursRr = repeated("Peersocket despatch", RrResult::perSecond, () -> withNodes(o -> o.requestReply(s, 1)));
                oursRrInline = repeated("Peersocket despatch, inline handler", RrResult::perSecond,
                        () -> withInlineNodes(o -> o.requestReply(s, 1)));
            }
            if (only.contains("rr16")) {
                out.println("Request/reply, " + s.payloadBytes() + " B each way, " + s.depth() + " outstanding:");
                tcpRr16 = repeated("raw TCP (pipelined)", RrResult::perSecond, () -> TcpBaseline.requestReplyPipelined(s));
                quicRr16 = repeated("raw Netty QUIC (pipelined)", RrResult::perSecond, () -> q.requestReply(s, s.depth()));
                oursRr16 = repeated("Peersocket despatch", RrResult::perSecond,
                        () -> withNodes(o -> o.requestReply(s, s.depth())));
                oursRr16Inline = repeated("Peersocket despatch, inline handler", RrResult::perSecond,
                        () -> withInlineNodes(o -> o.requestReply(s, s.depth())));
            }
            if (only.contains("bulk")) {
                out.printf(Locale.ROOT, "Bulk, one stream, %d KiB writes, at least %d MiB and %.0f s:%n",
                        s.chunkBytes() >> 10, s.bulkBytes() >> 20, s.durationMs() / 1000.0);
                tcpBulk = repeated("raw TCP", BulkResult::mbPerSecond, () -> TcpBaseline.bulk(s));
                quicBulk = repeated("raw Netty QUIC", BulkResult::mbPerSecond, () -> q.bulk(s));
                quicBulkSmall = repeated("raw Netty QUIC, 1350 B packets", BulkResult::mbPerSecond, () -> {
                    try (NettyQuicBaseline small = new NettyQuicBaseline(false, 0)) {
                        return small.bulk(s);
                    }
                });
                oursBulk = repeated("Peersocket stream", BulkResult::mbPerSecond, () -> withNodes(o -> o.bulk(s)));
            }
            if (only.contains("connect")) {
                out.println("Connection set-up, " + s.connects() + " timed after " + s.connectWarmup() + " untimed:");
                quicConnect = step("raw Netty QUIC", () -> q.connect(s));
                quicConnectMutual = step("raw Netty QUIC, mutual TLS", () -> {
                    try (NettyQuicBaseline mq = new NettyQuicBaseline(true, NettyQuicBaseline.LOOPBACK_UDP_PAYLOAD)) {
                        return mq.connect(s);
                    }
                });
                oursDial = step("Peersocket Transport.dial", () -> PeersocketBench.transportDial(s));
                oursConnect = step("Peersocket Node.connect", () -> withNodes(o -> o.nodeConnect(s)));
            }
        }
        loadAfter = Machine.loadAverage();
        out.println();
        out.println("Load average (1/5/15 min) after: " + loadAfter);
        printTable(m);
        out.println();
        out.println("----- markdown for docs/benchmarks.md -----");
        out.print(markdown(m));
        out.println("----- end markdown -----");
        if (!failures.isEmpty()) {
            out.println();
            out.println("Failed measurements:");
            for (String f : failures) out.println("  " + f);
        }
    }

    // ---- reporting ----------------------------------------------------------------------------------------

    static double ratio(double ours, double base) {
        return Double.isNaN(ours) || Double.isNaN(base) || base == 0 ? Double.NaN : ours / base;
    }

    static double rate(RrResult r) { return r == null ? Double.NaN : r.perSecond(); }

    static double rate(BulkResult r) { return r == null ? Double.NaN : r.mbPerSecond(); }

    static double mean(ConnectResult r) { return r == null ? Double.NaN : r.meanMs(); }

    static String x(double v) { return Double.isNaN(v) ? "—" : String.format(Locale.ROOT, "%.2f×", v); }

    static String num(double v, String fmt) { return Double.isNaN(v) ? "—" : String.format(Locale.ROOT, fmt, v); }

    private void printTable(Machine m) {
        out.println("Summary (median of " + settings.repeat() + " run(s); ours ÷ raw: higher is better for rates,"
                + " lower is better for set-up time)");
        String f = "  %-50s %14s %18s %8s %8s %11s %8s %8s%n";
        out.printf(Locale.ROOT, f, "request/reply", "round trips/s", "range", "p50 µs", "p99 µs", "CPU µs/rt", "÷ TCP",
                "÷ QUIC");
        for (Row r : rrRows()) out.printf(Locale.ROOT, f, r.cells());
        out.printf(Locale.ROOT, f, "bulk, one stream", "MB/s", "range", "MiB", "seconds", "CPU ms/MB", "÷ TCP",
                "÷ QUIC");
        for (Row r : bulkRows()) out.printf(Locale.ROOT, f, r.cells());
        out.printf(Locale.ROOT, f, "connection set-up", "mean ms", "", "p50 ms", "p99 ms", "", "÷ QUIC", "÷ mTLS");
        for (Row r : connectRows()) out.printf(Locale.ROOT, f, r.cells());
        out.println();
        for (String t : targets()) out.println(t);
    }

    /** One table row: label, value, range, two details, two ratios. */
    record Row(String label, String value, String range, String a, String b, String cpu, String r1, String r2) {
        Object[] cells() { return new Object[] {label, value, range, a, b, cpu, r1, r2}; }

        String markdown() { return "| " + String.join(" | ", label, value, range, a, b, cpu, r1, r2) + " |\n"; }
    }

    private List<Row> rrRows() {
        List<Row> rows = new ArrayList<>();
        int d = settings.depth();
        rr(rows, tcpRr, "raw TCP, 1 outstanding", null, null);
        rr(rows, quicRr, "raw Netty QUIC, 1 outstanding", null, null);
        rr(rows, oursRr, "Peersocket despatch, 1 outstanding", tcpRr, quicRr);
        rr(rows, oursRrInline, "Peersocket despatch, 1 outstanding, inline handler", tcpRr, quicRr);
        rr(rows, tcpRr16, "raw TCP, " + d + " pipelined", null, null);
        rr(rows, quicRr16, "raw Netty QUIC, " + d + " pipelined", null, null);
        rr(rows, oursRr16, "Peersocket despatch, " + d + " outstanding", tcpRr16, quicRr16);
        rr(rows, oursRr16Inline, "Peersocket despatch, " + d + " outstanding, inline handler", tcpRr16, quicRr16);
        return rows;
    }

    private void rr(List<Row> rows, RrResult r, String label, RrResult tcp, RrResult q) {
        if (r == null) return;
        boolean ours = label.startsWith("Peersocket");
        rows.add(new Row(label, num(r.perSecond(), "%,.0f"), range(r, "%,.0f"), num(r.p50Us(), "%.0f"),
                num(r.p99Us(), "%.0f"), num(r.cpuUsPerRoundTrip(), "%.1f"), ours ? x(ratio(r.perSecond(), rate(tcp))) : "",
                ours ? x(ratio(r.perSecond(), rate(q))) : ""));
    }

    private List<Row> bulkRows() {
        List<Row> rows = new ArrayList<>();
        bulk(rows, tcpBulk, "raw TCP");
        bulk(rows, quicBulk, "raw Netty QUIC");
        bulk(rows, quicBulkSmall, "raw Netty QUIC, 1350 B packets");
        bulk(rows, oursBulk, "Peersocket stream");
        return rows;
    }

    private void bulk(List<Row> rows, BulkResult r, String label) {
        if (r == null) return;
        boolean ours = label.startsWith("Peersocket");
        rows.add(new Row(label + (r.capped() ? " (time cap hit)" : ""), num(r.mbPerSecond(), "%,.0f"),
                range(r, "%,.0f"), String.valueOf(r.bytes() >> 20), num(r.seconds(), "%.1f"), num(r.cpuMsPerMb(), "%.2f"),
                ours ? x(ratio(r.mbPerSecond(), rate(tcpBulk))) : "", ours ? x(ratio(r.mbPerSecond(), rate(quicBulk))) : ""));
    }

    private List<Row> connectRows() {
        List<Row> rows = new ArrayList<>();
        connect(rows, quicConnect, "raw Netty QUIC");
        connect(rows, quicConnectMutual, "raw Netty QUIC, mutual TLS");
        connect(rows, oursDial, "Peersocket Transport.dial");
        connect(rows, oursConnect, "Peersocket Node.connect");
        return rows;
    }

    private void connect(List<Row> rows, ConnectResult r, String label) {
        if (r == null) return;
        boolean ours = label.startsWith("Peersocket");
        rows.add(new Row(label, num(r.meanMs(), "%.2f"), "", num(r.p50Ms(), "%.2f"), num(r.p99Ms(), "%.2f"), "",
                ours ? x(ratio(r.meanMs(), mean(quicConnect))) : "", ours ? x(ratio(r.meanMs(), mean(quicConnectMutual))) : ""));
    }

    List<String> targets() {
        List<String> t = new ArrayList<>();
        if (oursRr != null && tcpRr != null) {
            t.add(target("request/reply, 1 outstanding", ratio(oursRr.perSecond(), tcpRr.perSecond()), RR_TARGET));
        }
        if (oursRr16 != null && tcpRr16 != null) {
            t.add(target("request/reply, " + settings.depth() + " outstanding",
                    ratio(oursRr16.perSecond(), tcpRr16.perSecond()), RR_TARGET));
        }
        if (oursBulk != null && tcpBulk != null) {
            t.add(target("bulk", ratio(oursBulk.mbPerSecond(), tcpBulk.mbPerSecond()), BULK_TARGET));
        }
        return t;
    }

    private static String target(String what, double r, double goal) {
        return String.format(Locale.ROOT, "Target %s ≥ %.1f× raw TCP: %s (%s)", what, goal, x(r),
                r >= goal ? "met" : "NOT met");
    }

    String markdown(Machine m) {
        StringBuilder b = new StringBuilder();
        Settings s = settings;
        b.append("### Results (").append(LocalDate.now()).append(", ").append(mode).append(" mode)\n\n");
        b.append("Machine: ").append(m.cpu()).append(", ").append(m.cores()).append(" cores, ").append(m.memory())
                .append("; ").append(m.jdk()).append("; ").append(m.os()).append("; Netty I/O: ").append(ioMode)
                .append(".\nLoad average (1/5/15 min): ").append(loadBefore).append(" before, ").append(loadAfter)
                .append(" after the run.\n\n");
        b.append("CPU columns: process CPU time (both ends, all threads) per round trip or per MB; they depend "
                + "less on other load than the rates do.\n\n");
        b.append(String.format(Locale.ROOT, "Each request/reply and bulk figure is the median of %d run(s) on fresh "
                        + "connections (range = lowest–highest run). Warm-up %.1f s before each run; request/reply "
                        + "counted for %.1f s; bulk: %d KiB writes, %d in flight, counted until the receiver got "
                        + "≥ %d MiB and ≥ %.1f s passed; connection set-up: %d timed after %d untimed.%n%n",
                s.repeat(), s.warmupMs() / 1000.0, s.durationMs() / 1000.0, s.chunkBytes() >> 10, s.writeWindow(),
                s.bulkBytes() >> 20, s.durationMs() / 1000.0, s.connects(), s.connectWarmup()));
        List<Row> rr = rrRows();
        if (!rr.isEmpty()) {
            b.append("| request/reply, ").append(s.payloadBytes())
                    .append(" B each way | round trips/s | range | p50 µs | p99 µs | CPU µs per round trip | ours ÷ raw TCP | ours ÷ raw QUIC |\n");
            b.append("|---|---:|---:|---:|---:|---:|---:|---:|\n");
            for (Row r : rr) b.append(bold(r).markdown());
            b.append('\n');
        }
        List<Row> bulk = bulkRows();
        if (!bulk.isEmpty()) {
            b.append("| bulk, one stream | MB/s | range | MiB counted | seconds | CPU ms per MB | ours ÷ raw TCP | ours ÷ raw QUIC |\n");
            b.append("|---|---:|---:|---:|---:|---:|---:|---:|\n");
            for (Row r : bulk) b.append(bold(r).markdown());
            b.append('\n');
        }
        List<Row> conn = connectRows();
        if (!conn.isEmpty()) {
            b.append("| connection set-up | mean ms | | p50 ms | p99 ms | | ours ÷ raw QUIC | ours ÷ raw QUIC mutual TLS |\n");
            b.append("|---|---:|---:|---:|---:|---:|---:|---:|\n");
            for (Row r : conn) b.append(bold(r).markdown());
            b.append('\n');
        }
        List<String> t = targets();
        if (!t.isEmpty()) {
            for (String line : t) b.append("- ").append(line).append('\n');
            b.append('\n');
        }
        return b.toString();
    }

    private static Row bold(Row r) {
        if (!r.label().startsWith("Peersocket")) return r;
        return new Row("**" + r.label() + "**", r.value(), r.range(), r.a(), r.b(), r.cpu(), r.r1(), r.r2());
    }
}
