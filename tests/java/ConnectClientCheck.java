// Drives a Sluice worker with org.sourcelab:kafka-connect-client, the Kafka Connect REST
// client AKHQ uses, through the calls AKHQ makes, and checks what the client parses.
// Run by tests/connect_clients.rs:
//   java -cp "<scripts/stack.sh connect-client-lib>/*" ConnectClientCheck.java <url> <dir> <topic>
// Prints "checks passed: N" and exits 0, or prints the failed check and exits 1.

import java.util.Map;
import java.util.function.Supplier;

import org.sourcelab.kafka.connect.apiclient.Configuration;
import org.sourcelab.kafka.connect.apiclient.KafkaConnectClient;
import org.sourcelab.kafka.connect.apiclient.request.dto.ConnectorDefinition;
import org.sourcelab.kafka.connect.apiclient.request.dto.ConnectorPluginConfigDefinition;
import org.sourcelab.kafka.connect.apiclient.request.dto.ConnectorPluginConfigValidationResults;
import org.sourcelab.kafka.connect.apiclient.request.dto.ConnectorStatus;
import org.sourcelab.kafka.connect.apiclient.request.dto.ConnectorsWithExpandedMetadata;
import org.sourcelab.kafka.connect.apiclient.request.dto.NewConnectorDefinition;
import org.sourcelab.kafka.connect.apiclient.rest.exceptions.ResourceNotFoundException;

public class ConnectClientCheck {
    static int passed = 0;

    static void check(String what, boolean ok, Object got) {
        if (!ok) {
            System.out.println("FAILED: " + what + " (got: " + got + ")");
            System.exit(1);
        }
        passed++;
    }

    static void waitFor(String what, Supplier<Boolean> cond) throws InterruptedException {
        long end = System.currentTimeMillis() + 30_000;
        while (System.currentTimeMillis() < end) {
            try {
                if (cond.get()) {
                    passed++;
                    return;
                }
            } catch (RuntimeException e) {
                // not there yet
            }
            Thread.sleep(200);
        }
        System.out.println("FAILED: timed out waiting for " + what);
        System.exit(1);
    }

    static String state(KafkaConnectClient c, String name) {
        ConnectorStatus s = c.getConnectorStatus(name);
        String tasks = s.getTasks().isEmpty() ? "-" : s.getTasks().get(0).getState();
        return s.getConnector().get("state") + "/" + tasks;
    }

    public static void main(String[] args) throws Exception {
        String url = args[0], dir = args[1], topic = args[2];
        KafkaConnectClient c = new KafkaConnectClient(new Configuration(url));
        String cls = "org.apache.kafka.connect.file.FileStreamSourceConnector";
        String name = "akhq-" + topic;

        var version = c.getConnectServerVersion();
        check("version", version.getVersion().startsWith("4.3.1-sluice-"), version.getVersion());
        check("cluster id", version.getKafkaClusterId() != null && !version.getKafkaClusterId().isEmpty(), version.getKafkaClusterId());

        var plugins = c.getConnectorPlugins();
        check("plugins list the file source", plugins.stream().anyMatch(p -> p.getClassName().equals(cls) && p.getType().equals("source")), plugins);

        ConnectorPluginConfigValidationResults bad = c.validateConnectorPluginConfig(
            ConnectorPluginConfigDefinition.newBuilder().withName(cls)
                .withConfig("connector.class", cls).withConfig("name", name).withConfig("tasks.max", "many").build());
        check("validate counts errors", bad.getErrorCount() > 0, bad.getErrorCount());
        check("validate lists keys", bad.getConfigs().stream().anyMatch(k -> k.getDefinition().getName().equals("tasks.max")), bad.getConfigs().size());

        Map<String, String> config = Map.of("connector.class", cls, "tasks.max", "1",
            "file", dir + "/in.txt", "topic", topic);
        ConnectorDefinition created = c.addConnector(NewConnectorDefinition.newBuilder().withName(name).withConfig(config).build());
        check("created", created.getName().equals(name) && created.getConfig().get("topic").equals(topic), created);

        waitFor("RUNNING", () -> state(c, name).equals("RUNNING/RUNNING"));
        check("status type", c.getConnectorStatus(name).getType().equals("source"), c.getConnectorStatus(name).getType());

        ConnectorsWithExpandedMetadata all = c.getConnectorsWithAllExpandedMetadata();
        check("expanded names", all.getConnectorNames().contains(name), all.getConnectorNames());
        check("expanded info", all.getMappedDefinitions().get(name).getConfig().get("file").equals(dir + "/in.txt"), all.getMappedDefinitions().get(name));
        check("expanded status", all.getMappedStatuses().get(name).getConnector().get("state").equals("RUNNING"), all.getMappedStatuses().get(name));
        check("list", c.getConnectors().contains(name), c.getConnectors());
        check("info", c.getConnector(name).getTasks().size() == 1, c.getConnector(name).getTasks());
        check("config", c.getConnectorConfig(name).get("topic").equals(topic), c.getConnectorConfig(name));
        check("tasks", c.getConnectorTasks(name).size() == 1, c.getConnectorTasks(name));

        waitFor("topics", () -> c.getConnectorTopics(name).getTopics().contains(topic));

        check("pause", c.pauseConnector(name), "false");
        waitFor("PAUSED", () -> state(c, name).equals("PAUSED/PAUSED"));
        check("resume", c.resumeConnector(name), "false");
        waitFor("RUNNING again", () -> state(c, name).equals("RUNNING/RUNNING"));
        check("restart", c.restartConnector(name), "false");
        check("restart task", c.restartConnectorTask(name, 0), "false");
        waitFor("task RUNNING", () -> c.getConnectorTaskStatus(name, 0).getState().equals("RUNNING"));

        Map<String, String> changed = new java.util.HashMap<>(config);
        changed.put("batch.size", "7");
        ConnectorDefinition updated = c.updateConnectorConfig(name, changed);
        check("update", updated.getConfig().get("batch.size").equals("7"), updated.getConfig());

        check("stop", c.stopConnector(name), "false");
        waitFor("STOPPED", () -> c.getConnectorStatus(name).getConnector().get("state").equals("STOPPED"));

        try {
            c.getConnector(name + "-nope");
            check("unknown connector is an error", false, "no exception");
        } catch (ResourceNotFoundException e) {
            check("404 parsed", e.getMessage().contains("nope"), e.getMessage());
        }

        check("delete", c.deleteConnector(name), "false");
        waitFor("deleted", () -> !c.getConnectors().contains(name));

        System.out.println("checks passed: " + passed);
    }
}
