package ipvsbridge

import (
	"context"
	"errors"
)

// Port is the narrow kernel interface the reconciler needs. Reads are
// normalised (protocol names, no HASHED flag, plain weights); writes are
// confirmed by reading back.
type Port interface {
	Services(ctx context.Context) ([]Service, error)
	AddService(ctx context.Context, v VirtualService) error
	UpdateService(ctx context.Context, v VirtualService) error
	DeleteService(ctx context.Context, v VirtualService) error
	AddReal(ctx context.Context, v VirtualService, r RealServer) error
	UpdateReal(ctx context.Context, v VirtualService, r RealServer) error
	DeleteReal(ctx context.Context, v VirtualService, r RealServer) error
	Close() error
}

// Errors with the kernel's meaning, whatever the implementation.
var (
	ErrExists   = errors.New("already exists")      // EEXIST
	ErrNotFound = errors.New("no such service")     // ESRCH
	ErrNoDest   = errors.New("no such destination") // ENOENT
	ErrNoIPVS   = errors.New("this kernel has no IPVS (no /proc/net/ip_vs; modprobe ip_vs, or run on a kernel built with CONFIG_IP_VS)")
)
