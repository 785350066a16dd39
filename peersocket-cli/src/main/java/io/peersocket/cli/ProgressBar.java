package io.peersocket.cli;

import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;

/**
 * Renders transfer progress (bytes, chunks/s, ETA) on stderr: one self-overwriting line on a terminal,
 * plain lines at most once a second otherwise (logs, tests, pipes). Fed with the node's progress objects
 * ({@code bytes, totalBytes, chunks, elapsedMs}).
 */
final class ProgressBar {
    private static final int WIDTH = 24;
    /** Rates and ETA are shown once this much time has passed, ms. */
    static final long MIN_RATE_MS = 500;
    private final String label;
    private final PrintStream err;
    private final boolean terminal;
    private long lastPlainMs = -1;
    private boolean drawn;

    ProgressBar(String label, PrintStream err, boolean terminal) {
        this.label = label;
        this.err = err;
        this.terminal = terminal;
    }

    /** Whether stderr is an interactive terminal (JDK 22+ {@code Console.isTerminal()}, else a console exists). */
    static boolean stderrIsTerminal() {
        java.io.Console c = System.console();
        if (c == null) return false;
        try {
            return (Boolean) java.io.Console.class.getMethod("isTerminal").invoke(c);
        } catch (ReflectiveOperationException e) {
            return true; // JDK 21: a console exists only for an interactive terminal
        }
    }

    void update(Map<String, Object> p) {
        update(num(p, "bytes"), num(p, "totalBytes"), num(p, "chunks"), num(p, "elapsedMs"));
    }

    void update(long bytes, long total, long chunks, long elapsedMs) {
        String line = line(bytes, total, chunks, elapsedMs);
        if (terminal) {
            err.print("\r" + line + "\u001b[K");
            err.flush();
            drawn = true;
        } else if (lastPlainMs < 0 || elapsedMs - lastPlainMs >= 1000) {
            lastPlainMs = elapsedMs;
            err.println(line);
        }
    }

    /** Final line: ends the overwriting line on a terminal, always printed. */
    void done(long bytes, long chunks, long elapsedMs) {
        String line = String.format(Locale.ROOT, "%s: done, %s, %,d chunks in %s (%s/s, %,.0f chunks/s)", label,
                size(bytes), chunks, duration(elapsedMs), size(rate(bytes, elapsedMs)), rateD(chunks, elapsedMs));
        err.print(terminal && drawn ? "\r" + line + "\u001b[K\n" : line + "\n");
        err.flush();
    }

    String line(long bytes, long total, long chunks, long elapsedMs) {
        StringBuilder sb = new StringBuilder(label).append(": ");
        if (total > 0) {
            double f = Math.min(1.0, (double) bytes / total);
            int filled = (int) Math.round(f * WIDTH);
            if (terminal) sb.append('[').append("#".repeat(filled)).append(".".repeat(WIDTH - filled)).append("] ");
            sb.append(String.format(Locale.ROOT, "%3d%% ", (int) (f * 100)));
            sb.append(size(bytes)).append(" of ").append(size(total));
        } else {
            sb.append(size(bytes));
        }
        sb.append(String.format(Locale.ROOT, ", %,d chunks", chunks));
        if (elapsedMs < MIN_RATE_MS) {
            return sb.toString(); // too early for a meaningful rate or ETA
        }
        sb.append(String.format(Locale.ROOT, ", %,.0f chunks/s", rateD(chunks, elapsedMs)));
        long bps = rate(bytes, elapsedMs);
        if (total > 0 && bytes < total && bps > 0) {
            long etaS = ((total - bytes) * 1000 / bps + 999) / 1000;
            sb.append(", ETA ").append(etaS < 60 ? etaS + "s" : duration(etaS * 1000));
        }
        return sb.toString();
    }

    private static long rate(long n, long ms) {
        return ms <= 0 ? 0 : n * 1000 / ms;
    }

    private static double rateD(long n, long ms) {
        return ms <= 0 ? 0 : n * 1000.0 / ms;
    }

    static String size(long b) {
        if (b < 1024) return b + " B";
        if (b < 1024 * 1024) return String.format(Locale.ROOT, "%.1f KiB", b / 1024.0);
        if (b < 1024L * 1024 * 1024) return String.format(Locale.ROOT, "%.1f MiB", b / (1024.0 * 1024));
        return String.format(Locale.ROOT, "%.2f GiB", b / (1024.0 * 1024 * 1024));
    }

    static String duration(long ms) {
        long s = (ms + 999) / 1000;
        if (ms < 1000) return ms + " ms";
        if (s < 60) return String.format(Locale.ROOT, "%.1fs", ms / 1000.0);
        if (s < 3600) return String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
        return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    }

    private static long num(Map<String, Object> p, String key) {
        return p.get(key) instanceof Number n ? n.longValue() : -1;
    }
}
