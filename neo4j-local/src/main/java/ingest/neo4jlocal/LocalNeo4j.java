package ingest.neo4jlocal;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.ConnectorPortRegister;
import org.neo4j.configuration.connectors.ConnectorType;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.io.ByteUnit;
import org.neo4j.kernel.internal.GraphDatabaseAPI;

/**
 * Runs Neo4j Community embedded with only its Bolt connector, bound to 127.0.0.1, so that the
 * pipeline and its tests talk to a real server with no install beyond Maven Central.
 *
 * <p>Usage: {@code LocalNeo4j DATA_DIR BOLT_PORT} (port 0 picks a free one). Once Bolt accepts
 * connections it prints exactly one line {@code NEO4J_LOCAL_READY port=<port>} on stdout. SIGTERM
 * (or SIGINT) shuts the database down cleanly.
 *
 * <p>Settings: every setting in {@code DATA_DIR/neo4j-local.conf} ({@code name=value} lines,
 * neo4j.conf syntax) is honoured. The launcher decides only what the file leaves open: the page
 * cache (system property {@code neo4j.pagecache.mb}, default 64), authentication (system property
 * {@code neo4j.local.auth}, default off) and logical-log retention. The Bolt address belongs to the
 * launcher ({@code BOLT_PORT}): the file may not set it, and an auth switch that contradicts the
 * file is refused, both with exit code 2 and a message on stderr.
 *
 * <p>With authentication on, the initial password of user {@code neo4j} is the first line of
 * stdin (so it never shows in a process listing), set while the user still has to change it (a
 * fresh data directory); a password changed later is left alone.
 */
public final class LocalNeo4j {
    private static final List<String> LAUNCHER_OWNED = List.of(
            BoltConnector.listen_address.name(), BoltConnector.enabled.name(), BoltConnector.advertised_address.name());

    private LocalNeo4j() {}

    public static void main(String[] args) throws InterruptedException, IOException {
        if (args.length != 2) {
            System.err.println("usage: LocalNeo4j DATA_DIR BOLT_PORT");
            System.exit(2);
        }
        Path dataDir = Path.of(args[0]).toAbsolutePath();
        int port = Integer.parseInt(args[1]);
        Path extraConfig = dataDir.resolve("neo4j-local.conf");
        Properties fromFile = readConfig(extraConfig);

        for (String owned : LAUNCHER_OWNED) {
            if (fromFile.containsKey(owned)) {
                refuse(owned + " is set in " + extraConfig + ", but the launcher owns the Bolt address"
                        + " (`ingest-pipeline neo4j start --bolt-port`); remove it from the file");
            }
        }
        String authName = GraphDatabaseSettings.auth_enabled.name();
        String requestedAuth = System.getProperty("neo4j.local.auth");
        String fileAuth = fromFile.getProperty(authName);
        if (requestedAuth != null && fileAuth != null
                && Boolean.parseBoolean(requestedAuth.trim()) != Boolean.parseBoolean(fileAuth.trim())) {
            refuse("NEO4J_LOCAL_AUTH=" + requestedAuth + " contradicts " + authName + "=" + fileAuth
                    + " in " + extraConfig + "; set one of them");
        }
        boolean auth = Boolean.parseBoolean((fileAuth != null ? fileAuth : requestedAuth == null ? "false" : requestedAuth).trim());

        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(dataDir)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(GraphDatabaseSettings.auth_enabled, auth)
                .setConfig(GraphDatabaseSettings.pagecache_memory,
                        ByteUnit.mebiBytes(Long.getLong("neo4j.pagecache.mb", 64L)))
                .setConfig(GraphDatabaseSettings.keep_logical_logs, "false");
        if (Files.isRegularFile(extraConfig)) {
            builder.loadPropertiesFromFile(extraConfig); // the file wins over the launcher's defaults
        }
        DatabaseManagementService dbms = builder.build();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            dbms.shutdown();
            stopped.countDown();
        }, "neo4j-local-shutdown"));

        GraphDatabaseService system = dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME);
        if (auth) {
            setInitialPassword(system);
        }
        int boundPort = ((GraphDatabaseAPI) system).getDependencyResolver()
                .resolveDependency(ConnectorPortRegister.class)
                .getLocalAddress(ConnectorType.BOLT)
                .getPort();
        System.out.println("NEO4J_LOCAL_READY port=" + boundPort + " auth=" + auth);
        System.out.flush();
        stopped.await();
    }

    private static Properties readConfig(Path file) throws IOException {
        Properties properties = new Properties();
        if (Files.isRegularFile(file)) {
            try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                properties.load(reader);
            }
        }
        return properties;
    }

    /** Give user neo4j its initial password while the account still asks for one (a fresh store). */
    private static void setInitialPassword(GraphDatabaseService system) throws IOException {
        boolean changeRequired = system.executeTransactionally(
                "SHOW USERS YIELD user, passwordChangeRequired WHERE user = 'neo4j' RETURN passwordChangeRequired",
                Map.of(),
                result -> result.hasNext() && Boolean.TRUE.equals(result.next().get("passwordChangeRequired")));
        if (!changeRequired) {
            return;
        }
        String password = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
        if (password == null || password.isEmpty()) {
            refuse("authentication is on but user neo4j has no password yet: set NEO4J_PASSWORD (8+ characters)");
        }
        system.executeTransactionally(
                "ALTER USER neo4j SET PLAINTEXT PASSWORD $password CHANGE NOT REQUIRED", Map.of("password", password));
    }

    private static void refuse(String message) {
        System.err.println("neo4j-local: " + message);
        System.exit(2);
    }
}
