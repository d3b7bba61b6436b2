package adminapi

import (
	"context"
	"sync"

	"github.com/lbdns/lbdns/zones"
)

// fakeEditor records each call's method and arguments and answers with
// canned values, or with err when it is set.
type fakeEditor struct {
	mu     sync.Mutex
	method string
	args   []any
	err    error

	info    zones.ZoneInfo
	infos   []zones.ZoneInfo
	text    string
	records []zones.Record
}

var _ zones.Editor = (*fakeEditor)(nil)

func (f *fakeEditor) record(method string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.method, f.args = method, args
	return f.err
}

func (f *fakeEditor) lastCall() (string, []any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.method, f.args
}

func (f *fakeEditor) CreateZone(_ context.Context, spec zones.ZoneSpec) (zones.ZoneInfo, error) {
	if err := f.record("CreateZone", spec); err != nil {
		return zones.ZoneInfo{}, err
	}
	return f.info, nil
}

func (f *fakeEditor) ImportZone(_ context.Context, origin, filename, text string) (zones.ZoneInfo, error) {
	if err := f.record("ImportZone", origin, filename, text); err != nil {
		return zones.ZoneInfo{}, err
	}
	return f.info, nil
}

func (f *fakeEditor) ExportZone(_ context.Context, origin string) (string, error) {
	if err := f.record("ExportZone", origin); err != nil {
		return "", err
	}
	return f.text, nil
}

func (f *fakeEditor) DeleteZone(_ context.Context, origin string) error {
	return f.record("DeleteZone", origin)
}

func (f *fakeEditor) ListZones(context.Context) ([]zones.ZoneInfo, error) {
	if err := f.record("ListZones"); err != nil {
		return nil, err
	}
	return f.infos, nil
}

func (f *fakeEditor) ShowZone(_ context.Context, origin string) (zones.ZoneInfo, error) {
	if err := f.record("ShowZone", origin); err != nil {
		return zones.ZoneInfo{}, err
	}
	return f.info, nil
}

func (f *fakeEditor) AddRecord(_ context.Context, r zones.Record) (zones.ZoneInfo, error) {
	if err := f.record("AddRecord", r); err != nil {
		return zones.ZoneInfo{}, err
	}
	return f.info, nil
}

func (f *fakeEditor) DeleteRecord(_ context.Context, r zones.Record) (zones.ZoneInfo, error) {
	if err := f.record("DeleteRecord", r); err != nil {
		return zones.ZoneInfo{}, err
	}
	return f.info, nil
}

func (f *fakeEditor) ListRecords(_ context.Context, origin string) ([]zones.Record, error) {
	if err := f.record("ListRecords", origin); err != nil {
		return nil, err
	}
	return f.records, nil
}
