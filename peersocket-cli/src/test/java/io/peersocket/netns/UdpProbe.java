package io.peersocket.netns;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * A tiny UDP tool run inside namespaces by {@link NetNsTest} ({@code java -cp … io.peersocket.netns.UdpProbe}):
 * {@code echo PORT} answers every datagram with the sender's {@code ip:port} as seen there (prints
 * {@code ready} first); {@code send LOCALPORT HOST:PORT…} sends one datagram to each target from
 * {@code LOCALPORT} and prints each answer on a line (2 s per answer at most).
 */
public final class UdpProbe {
    private UdpProbe() {}

    public static void main(String[] args) throws Exception {
        if (args[0].equals("echo")) {
            try (DatagramSocket s = new DatagramSocket(Integer.parseInt(args[1]))) {
                System.out.println("ready");
                System.out.flush();
                byte[] buf = new byte[512];
                while (true) {
                    DatagramPacket p = new DatagramPacket(buf, buf.length);
                    s.receive(p);
                    byte[] out = (p.getAddress().getHostAddress() + ":" + p.getPort()).getBytes(StandardCharsets.UTF_8);
                    s.send(new DatagramPacket(out, out.length, p.getSocketAddress()));
                }
            }
        }
        try (DatagramSocket s = new DatagramSocket(Integer.parseInt(args[1]))) {
            s.setSoTimeout(2_000);
            for (int i = 2; i < args.length; i++) {
                String[] hp = args[i].split(":");
                byte[] hello = "hello".getBytes(StandardCharsets.UTF_8);
                byte[] buf = new byte[512];
                DatagramPacket in = new DatagramPacket(buf, buf.length);
                for (int attempt = 0; ; attempt++) {
                    s.send(new DatagramPacket(hello, hello.length, new InetSocketAddress(hp[0], Integer.parseInt(hp[1]))));
                    try {
                        s.receive(in);
                        break;
                    } catch (java.net.SocketTimeoutException e) {
                        if (attempt == 2) throw e;
                    }
                }
                System.out.println(new String(buf, 0, in.getLength(), StandardCharsets.UTF_8));
            }
        }
    }
}
