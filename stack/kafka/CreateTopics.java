// Creates the missing topics in one AdminClient round trip (one JVM start
// instead of one per topic). Run by the launcher as a single-file program:
//   java -cp '.cache/kafka/lib/*' stack/kafka/CreateTopics.java <bootstrap> name:partitions[:retention.ms]...
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;

public class CreateTopics {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "60000");
        try (Admin admin = Admin.create(props)) {
            Set<String> existing = admin.listTopics().names().get(60, TimeUnit.SECONDS);
            List<NewTopic> missing = new ArrayList<>();
            for (int i = 1; i < args.length; i++) {
                String[] spec = args[i].split(":");
                if (!existing.contains(spec[0])) {
                    NewTopic topic = new NewTopic(spec[0], Integer.parseInt(spec[1]), (short) 1);
                    if (spec.length > 2) {
                        topic.configs(Map.of("retention.ms", spec[2]));
                    }
                    missing.add(topic);
                }
            }
            if (!missing.isEmpty()) {
                admin.createTopics(missing).all().get(60, TimeUnit.SECONDS);
            }
            System.out.println("topics ready: " + (args.length - 1) + " (" + missing.size() + " created)");
        }
    }
}
