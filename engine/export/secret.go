package export

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// The flow secret of an export: what the engine makes per run of a flow
// (engine/auth.go), made once per export instead. Every exported worker
// requires it (and RAFT peers authenticate their transport with it); the
// gateway sends it. It lives only in a Kubernetes Secret or in a Compose
// secret file, never in a manifest, a ConfigMap or the gateway's flow.
const (
	// flowSecretEnv holds the flow secret in the gateway's container; the
	// gateway flow's external deployments take it from there. The gateway's
	// own token stays in JIG_AUTH_TOKEN.
	flowSecretEnv = "JIG_FLOW_SECRET"
	// flowSecretKey is the key of the token in the Kubernetes Secret.
	flowSecretKey = "token"
	// defaultFlowSecret names the Kubernetes Secret an export writes.
	defaultFlowSecret = "flow-secret"
	// flowSecretFile is the Kubernetes export's file holding the Secret.
	flowSecretFile = "flow-secret.yml"
	// composeSecret names the Compose secret; composeSecretPath is where
	// services read it.
	composeSecret     = "jig-flow-secret"
	composeSecretPath = "/run/secrets/" + composeSecret
	// workerTokenFileEnv is the worker's variable naming its token file
	// (executors/workerflags.AuthTokenFileEnv).
	workerTokenFileEnv = "JIG_AUTH_TOKEN_FILE"
)

// newSecret returns a random 256-bit token, hex-encoded.
func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// k8sFlowSecret is the Secret holding the flow secret. StringData keeps
// the file readable; the API server stores it as data.
func (k *k8s) flowSecretObject(token string) *secret {
	return &secret{
		typeMeta:   typeMeta{APIVersion: "v1", Kind: "Secret"},
		Metadata:   k.meta(k.opts.FlowSecret, k.labels(nil)),
		Type:       secretTypeOpaque,
		StringData: map[string]string{flowSecretKey: token},
	}
}

// earlierK8sSecret is the token of the flow-secret.yml an earlier export
// wrote into dir, "" if none: re-exporting keeps the secret, so applying
// the new manifests does not leave running pods (which read the Secret
// at start) with a token their peers no longer share.
func earlierK8sSecret(dir string) string {
	data, err := os.ReadFile(filepath.Join(dir, flowSecretFile))
	if err != nil || !strings.HasPrefix(string(data), exportMarker) {
		return ""
	}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var s earlierSecret
		if yaml.Unmarshal([]byte(doc), &s) != nil || s.Kind != "Secret" {
			continue
		}
		if tok := s.StringData[flowSecretKey]; tok != "" {
			return tok
		}
		if enc := s.Data[flowSecretKey]; enc != "" {
			// data values are base64, as the API (and encoding/json's
			// []byte) has them.
			if tok, err := base64.StdEncoding.DecodeString(enc); err == nil && len(tok) > 0 {
				return string(tok)
			}
		}
	}
	return ""
}

// earlierSecret is the part of a Secret earlierK8sSecret reads.
type earlierSecret struct {
	Kind       string            `yaml:"kind"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
}

// ensureComposeSecret makes the secret file at path: the earlier
// export's (kept, as for Kubernetes), else a new one written with mode
// 0600. A file jig did not write is used as it is.
func ensureComposeSecret(path string) error {
	if data, err := os.ReadFile(path); err == nil {
		if strings.TrimSpace(string(data)) == "" {
			return fmt.Errorf("the secret file %s is empty; remove it to have a new secret made", path)
		}
		return os.Chmod(path, 0o600)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write the secret file: %w", err)
	}
	_, err = f.WriteString(newSecret() + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write the secret file %s: %w", path, err)
	}
	return nil
}
