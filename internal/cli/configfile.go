package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"
)

// fileConfig is the config file: defaults for the flags of the same names.
//
//	# ~/.config/parley/config.toml
//	stun = ["stun:stun.example.org:3478"]   # or ["none"]
//	turn = ["turn:user:pass@turn.example.org:3478"]
//	relay-only = false
//	iface = ["eth0"]
//	loopback = false
//	print-code = false
//	notify = true        # false: no bell for a message while you look elsewhere
//	aec = true           # echo cancellation; ns and agc likewise
//	log = "/path/to/parley.log"
type fileConfig struct {
	STUN      []string `toml:"stun"`
	TURN      []string `toml:"turn"`
	RelayOnly *bool    `toml:"relay-only"`
	Iface     []string `toml:"iface"`
	Loopback  *bool    `toml:"loopback"`
	PrintCode *bool    `toml:"print-code"`
	Notify    *bool    `toml:"notify"`
	AEC       *bool    `toml:"aec"`
	NS        *bool    `toml:"ns"`
	AGC       *bool    `toml:"agc"`
	Log       string   `toml:"log"`
}

// configPath returns $XDG_CONFIG_HOME/parley/config.toml, or
// ~/.config/parley/config.toml.
func configPath() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "parley", "config.toml")
}

// loadConfigFile reads the config file as flag values: name → values.
// A missing file is no error.
func loadConfigFile(path string) (map[string][]string, error) {
	if path == "" {
		return nil, nil
	}
	var fc fileConfig
	md, err := toml.DecodeFile(path, &fc)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config file %s: %v", path, err)
	}
	if keys := md.Undecoded(); len(keys) > 0 {
		var names []string
		for _, k := range keys {
			names = append(names, k.String())
		}
		return nil, fmt.Errorf("config file %s: unknown setting %s", path, strings.Join(names, ", "))
	}
	vals := map[string][]string{"stun": fc.STUN, "turn": fc.TURN, "iface": fc.Iface}
	for name, b := range map[string]*bool{"relay-only": fc.RelayOnly, "loopback": fc.Loopback, "print-code": fc.PrintCode, "notify": fc.Notify, "aec": fc.AEC, "ns": fc.NS, "agc": fc.AGC} {
		if b != nil {
			vals[name] = []string{fmt.Sprint(*b)}
		}
	}
	if fc.Log != "" {
		vals["log"] = []string{fc.Log}
	}
	return vals, nil
}
