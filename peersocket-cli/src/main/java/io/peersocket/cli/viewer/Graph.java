package io.peersocket.cli.viewer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The testbed as the viewer draws it: nodes and the connections between them (undirected).
 *
 * @param nodes the nodes, in testbed order
 * @param edges one per connected pair
 */
public record Graph(List<Node> nodes, List<Edge> edges) {
    /** An empty graph. */
    public static final Graph EMPTY = new Graph(List.of(), List.of());

    public Graph {
        nodes = List.copyOf(nodes);
        edges = List.copyOf(edges);
    }

    /**
     * One node.
     *
     * @param id its peer id (base58)
     * @param label short human name, e.g. "peer-3"
     * @param addresses its listen multiaddrs
     * @param up whether its process is running
     */
    public record Node(String id, String label, List<String> addresses, boolean up) {
        public Node {
            addresses = List.copyOf(addresses);
        }
    }

    /** A connection between peers {@code a} and {@code b} ({@code a < b} as strings). */
    public record Edge(String a, String b) {
        /** The edge between two peers, in canonical order. */
        public static Edge of(String x, String y) {
            return x.compareTo(y) <= 0 ? new Edge(x, y) : new Edge(y, x);
        }
    }

    /**
     * Builds a graph from each node's list of connected peers; a connection reported by either side counts,
     * peers that are not nodes of the graph are left out.
     *
     * @param connected for each node id, the peer ids it reports as connected
     */
    public static Graph of(List<Node> nodes, Map<String, ? extends Iterable<String>> connected) {
        Set<String> ids = new java.util.HashSet<>();
        for (Node n : nodes) ids.add(n.id());
        Set<Edge> edges = new TreeSet<>((x, y) -> x.a().equals(y.a()) ? x.b().compareTo(y.b()) : x.a().compareTo(y.a()));
        connected.forEach((from, tos) -> {
            if (!ids.contains(from)) return;
            for (String to : tos) if (ids.contains(to) && !to.equals(from)) edges.add(Edge.of(from, to));
        });
        return new Graph(nodes, new ArrayList<>(edges));
    }

    /** The graph as JSON-ready maps: {@code {"nodes":[{id,label,addresses,up}],"edges":[{a,b}]}}. */
    public Map<String, Object> toMap() {
        List<Map<String, Object>> ns = new ArrayList<>();
        for (Node n : nodes) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", n.id());
            m.put("label", n.label());
            m.put("addresses", n.addresses());
            m.put("up", n.up());
            ns.add(m);
        }
        List<Map<String, Object>> es = new ArrayList<>();
        for (Edge e : edges) es.add(Map.of("a", e.a(), "b", e.b()));
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("nodes", ns);
        out.put("edges", es);
        return out;
    }
}
