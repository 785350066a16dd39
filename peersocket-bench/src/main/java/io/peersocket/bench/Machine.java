package io.peersocket.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** A one-line description of the machine and JVM the benchmark ran on. */
record Machine(String cpu, int cores, long physicalBytes, long maxHeapBytes, String jdk, String os) {

    static Machine describe() {
        Runtime rt = Runtime.getRuntime();
        String cpu = procField("/proc/cpuinfo", "model name");
        String mem = procField("/proc/meminfo", "MemTotal");
        long physical = -1;
        if (mem != null) {
            try {
                physical = Long.parseLong(mem.replace("kB", "").trim()) * 1024;
            } catch (NumberFormatException e) {
                // leave unknown
            }
        }
        String jdk = System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version")
                + " (" + System.getProperty("java.vendor") + ")";
        String os = System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                + System.getProperty("os.arch");
        return new Machine(cpu == null ? "unknown CPU" : cpu, rt.availableProcessors(), physical, rt.maxMemory(), jdk, os);
    }

    /** The 1, 5 and 15 minute load averages from /proc/loadavg, or "unknown". */
    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    private static String procField(String file, String key) {
        try {
            List<String> lines = Files.readAllLines(Path.of(file));
            for (String l : lines) {
                int colon = l.indexOf(':');
                if (colon > 0 && l.substring(0, colon).trim().equals(key)) return l.substring(colon + 1).trim();
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return null;
    }

    String memory() {
        return (physicalBytes > 0 ? gib(physicalBytes) + " RAM" : "RAM unknown") + ", max heap " + gib(maxHeapBytes);
    }

    private static String gib(long b) { return String.format("%.1f GiB", b / (double) (1L << 30)); }

    @Override public String toString() {
        return cpu + ", " + cores + " cores, " + memory() + "; " + jdk + "; " + os;
    }
}
