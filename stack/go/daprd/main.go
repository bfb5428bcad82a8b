// Command daprd is the Dapr sidecar runtime with the component set taskwave
// needs locally (Kafka pub/sub, PostgreSQL state, local secret stores, mDNS and
// SQLite name resolution). Upstream's cmd/daprd links every stable component, which
// takes far longer to build on a small machine; the runtime itself is
// unchanged, only the registry is smaller.
package main

import (
	"context"
	"fmt"
	"os"

	"go.opencensus.io/stats/view"

	"github.com/dapr/components-contrib/nameresolution/mdns"
	nrsqlite "github.com/dapr/components-contrib/nameresolution/sqlite"
	"github.com/dapr/components-contrib/pubsub/kafka"
	pubsubinmemory "github.com/dapr/components-contrib/pubsub/in-memory"
	"github.com/dapr/components-contrib/secretstores/local/env"
	"github.com/dapr/components-contrib/secretstores/local/file"
	pgv1 "github.com/dapr/components-contrib/state/postgresql/v1"
	pgv2 "github.com/dapr/components-contrib/state/postgresql/v2"

	"github.com/dapr/dapr/cmd/daprd/options"
	"github.com/dapr/dapr/pkg/buildinfo"
	"github.com/dapr/dapr/pkg/components"
	bindingsloader "github.com/dapr/dapr/pkg/components/bindings"
	configurationloader "github.com/dapr/dapr/pkg/components/configuration"
	conversationloader "github.com/dapr/dapr/pkg/components/conversation"
	cryptoloader "github.com/dapr/dapr/pkg/components/crypto"
	lockloader "github.com/dapr/dapr/pkg/components/lock"
	middlewareloader "github.com/dapr/dapr/pkg/components/middleware/http"
	nrloader "github.com/dapr/dapr/pkg/components/nameresolution"
	pubsubloader "github.com/dapr/dapr/pkg/components/pubsub"
	secretloader "github.com/dapr/dapr/pkg/components/secretstores"
	stateloader "github.com/dapr/dapr/pkg/components/state"
	"github.com/dapr/dapr/pkg/healthz"
	"github.com/dapr/dapr/pkg/metrics"
	"github.com/dapr/dapr/pkg/modes"
	"github.com/dapr/dapr/pkg/runtime"
	"github.com/dapr/dapr/pkg/runtime/registry"
	"github.com/dapr/dapr/pkg/security"
	"github.com/dapr/kit/concurrency"
	"github.com/dapr/kit/logger"
	"github.com/dapr/kit/signals"
)

var (
	log        = logger.NewLogger("dapr.runtime")
	logContrib = logger.NewLogger("dapr.contrib")
)

func registerComponents() {
	pubsubloader.DefaultRegistry.RegisterComponent(kafka.NewKafka, "kafka")
	pubsubloader.DefaultRegistry.RegisterComponent(pubsubinmemory.New, "in-memory")
	// Same versioning as upstream: v1 stays the default because only v1
	// offers the state Query API that todo-api's search uses.
	postgres := components.Versioning{
		Preferred: components.VersionConstructor{Version: "v2", Constructor: pgv2.NewPostgreSQLStateStore},
		Others:    []components.VersionConstructor{{Version: "v1", Constructor: pgv1.NewPostgreSQLStateStore}},
		Default:   "v1",
	}
	stateloader.DefaultRegistry.RegisterComponentWithVersions("postgresql", postgres)
	stateloader.DefaultRegistry.RegisterComponentWithVersions("postgres", postgres)
	secretloader.DefaultRegistry.RegisterComponent(file.NewLocalSecretStore, "local.file")
	secretloader.DefaultRegistry.RegisterComponent(env.NewEnvSecretStore, "local.env")
	nrloader.DefaultRegistry.RegisterComponent(mdns.NewResolver, "mdns")
	// Multicast is often unavailable on CI hosts; the local stack resolves
	// app ids through a shared SQLite file instead.
	nrloader.DefaultRegistry.RegisterComponent(nrsqlite.NewResolver, "sqlite")
}

func main() {
	opts, err := options.New(os.Args[1:])
	if err != nil {
		log.Fatalf("Failed to parse flags: %v", err)
	}
	if opts.RuntimeVersion {
		fmt.Println(buildinfo.Version())
		return
	}
	if opts.WaitCommand {
		runtime.WaitUntilDaprOutboundReady(opts.DaprHTTPPort)
		return
	}
	opts.Logger.SetAppID(opts.AppID)
	if err = logger.ApplyOptionsToLoggers(&opts.Logger); err != nil {
		log.Fatal(err)
	}
	log.Infof("Starting Dapr Runtime (taskwave build) -- version %s", buildinfo.Version())

	secretloader.DefaultRegistry.Logger = logContrib
	stateloader.DefaultRegistry.Logger = logContrib
	pubsubloader.DefaultRegistry.Logger = logContrib
	nrloader.DefaultRegistry.Logger = logContrib
	registerComponents()

	if err := run(signals.Context(), opts); err != nil {
		log.Fatalf("Fatal error from runtime: %s", err)
	}
	log.Info("Daprd shutdown gracefully")
}

func run(ctx context.Context, opts *options.Options) error {
	reg := registry.NewOptions().
		WithSecretStores(secretloader.DefaultRegistry).
		WithStateStores(stateloader.DefaultRegistry).
		WithConfigurations(configurationloader.DefaultRegistry).
		WithLocks(lockloader.DefaultRegistry).
		WithPubSubs(pubsubloader.DefaultRegistry).
		WithNameResolutions(nrloader.DefaultRegistry).
		WithBindings(bindingsloader.DefaultRegistry).
		WithCryptoProviders(cryptoloader.DefaultRegistry).
		WithHTTPMiddlewares(middlewareloader.DefaultRegistry).
		WithConversations(conversationloader.DefaultRegistry)

	health := healthz.New()
	secProvider, err := security.New(ctx, security.Options{
		SentryAddress:           opts.SentryAddress,
		ControlPlaneTrustDomain: opts.ControlPlaneTrustDomain,
		ControlPlaneNamespace:   opts.ControlPlaneNamespace,
		TrustAnchors:            opts.TrustAnchors,
		AppID:                   opts.AppID,
		MTLSEnabled:             opts.EnableMTLS,
		Mode:                    modes.DaprMode(opts.Mode),
		Healthz:                 health,
		JwtAudiences:            opts.SentryRequestJwtAudiences,
	})
	if err != nil {
		return err
	}

	sidecar := func(ctx context.Context) error {
		sec, err := secProvider.Handler(ctx)
		if err != nil {
			return err
		}
		rt, err := runtime.FromConfig(ctx, &runtime.Config{
			AppID:                         opts.AppID,
			ActorsService:                 opts.ActorsService,
			ActorsDisseminationTimeout:    opts.ActorsDisseminationTimeout,
			HotReloadReconcileInterval:    opts.HotReloadReconcileInterval,
			RemindersService:              opts.RemindersService,
			SchedulerAddress:              opts.SchedulerAddress,
			SchedulerStreams:              opts.SchedulerJobStreams,
			AllowedOrigins:                opts.AllowedOrigins,
			ResourcesPath:                 opts.ResourcesPath,
			ControlPlaneAddress:           opts.ControlPlaneAddress,
			AppProtocol:                   opts.AppProtocol,
			Mode:                          opts.Mode,
			DaprHTTPPort:                  opts.DaprHTTPPort,
			DaprInternalGRPCPort:          opts.DaprInternalGRPCPort,
			DaprInternalGRPCListenAddress: opts.DaprInternalGRPCListenAddress,
			DaprAPIGRPCPort:               opts.DaprAPIGRPCPort,
			DaprAPIListenAddresses:        opts.DaprAPIListenAddresses,
			DaprPublicPort:                opts.DaprPublicPort,
			DaprPublicListenAddress:       opts.DaprPublicListenAddress,
			ApplicationPort:               opts.AppPort,
			ProfilePort:                   opts.ProfilePort,
			EnableProfiling:               opts.EnableProfiling,
			AppMaxConcurrency:             opts.AppMaxConcurrency,
			EnableMTLS:                    opts.EnableMTLS,
			SentryAddress:                 opts.SentryAddress,
			MaxRequestSize:                opts.MaxRequestSize,
			ReadBufferSize:                opts.ReadBufferSize,
			UnixDomainSocket:              opts.UnixDomainSocket,
			DaprGracefulShutdownSeconds:   opts.DaprGracefulShutdownSeconds,
			DaprBlockShutdownDuration:     opts.DaprBlockShutdownDuration,
			DisableBuiltinK8sSecretStore:  opts.DisableBuiltinK8sSecretStore,
			EnableAppHealthCheck:          opts.EnableAppHealthCheck,
			AppHealthCheckPath:            opts.AppHealthCheckPath,
			AppHealthProbeInterval:        opts.AppHealthProbeInterval,
			AppHealthProbeTimeout:         opts.AppHealthProbeTimeout,
			AppHealthThreshold:            opts.AppHealthThreshold,
			AppChannelAddress:             opts.AppChannelAddress,
			EnableAPILogging:              opts.EnableAPILogging,
			Config:                        opts.Config,
			DisableInitEndpoints:          opts.DisableInitEndpoints,
			Metrics: metrics.Options{
				Enabled:       opts.Metrics.Enabled(),
				Log:           log,
				Port:          opts.Metrics.Port(),
				Namespace:     metrics.DefaultMetricNamespace,
				Healthz:       health,
				ListenAddress: opts.Metrics.ListenAddress(),
				Meter:         view.NewMeter(),
			},
			AppSSL:         opts.AppSSL,
			ComponentsPath: opts.ComponentsPath,
			Registry:       reg,
			Security:       sec,
			Healthz:        health,
		})
		if err != nil {
			return err
		}
		return rt.Run(ctx)
	}
	return concurrency.NewRunnerManager(secProvider.Run, sidecar).Run(ctx)
}
