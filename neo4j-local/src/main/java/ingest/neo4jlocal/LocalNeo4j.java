package ingest.neo4jlocal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.ConnectorPortRegister;
import org.neo4j.configuration.connectors.ConnectorType;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.io.ByteUnit;
import org.neo4j.kernel.internal.GraphDatabaseAPI;

/**
 * Runs Neo4j Community embedded with only its Bolt connector, bound to 127.0.0.1 and without auth,
 * so that the pipeline and its tests talk to a real server with no install beyond Maven Central.
 *
 * <p>Usage: {@code LocalNeo4j DATA_DIR BOLT_PORT} (port 0 picks a free one). Once Bolt accepts
 * connections it prints exactly one line {@code NEO4J_LOCAL_READY port=<port>} on stdout. SIGTERM
 * (or SIGINT) shuts the database down cleanly. Page cache size comes from the system property
 * {@code neo4j.pagecache.mb} (default 64); the heap is the JVM's {@code -Xmx}. Any other Neo4j
 * setting can go in {@code DATA_DIR/neo4j-local.conf} ({@code name=value} lines, neo4j.conf syntax),
 * e.g. {@code db.lock.acquisition.timeout=2s}.
 */
public final class LocalNeo4j {
    private LocalNeo4j() {}

    public static void main(String[] args) throws InterruptedException {
        if (args.length != 2) {
            System.err.println("usage: LocalNeo4j DATA_DIR BOLT_PORT");
            System.exit(2);
        }
        Path dataDir = Path.of(args[0]).toAbsolutePath();
        int port = Integer.parseInt(args[1]);
        long pageCacheMb = Long.getLong("neo4j.pagecache.mb", 64L);

        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(dataDir);
        Path extraConfig = dataDir.resolve("neo4j-local.conf");
        if (Files.isRegularFile(extraConfig)) {
            builder.loadPropertiesFromFile(extraConfig);
        }
        DatabaseManagementService dbms = builder
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(GraphDatabaseSettings.auth_enabled, false)
                .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(pageCacheMb))
                .setConfig(GraphDatabaseSettings.keep_logical_logs, "false")
                .build();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            dbms.shutdown();
            stopped.countDown();
        }, "neo4j-local-shutdown"));

        GraphDatabaseAPI system = (GraphDatabaseAPI) dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME);
        int boundPort = system.getDependencyResolver()
                .resolveDependency(ConnectorPortRegister.class)
                .getLocalAddress(ConnectorType.BOLT)
                .getPort();
        System.out.println("NEO4J_LOCAL_READY port=" + boundPort);
        System.out.flush();
        stopped.await();
    }
}
