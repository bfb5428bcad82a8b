//go:build tools

// Keeps both main packages in this module's graph so that `go build` of each
// resolves from go.sum (stack/bootstrap.py builds them into .cache/bin).
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
