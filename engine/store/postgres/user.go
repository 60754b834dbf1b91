package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// The methods in this file are the People Service's side of the profile tables (what a
// person or an operator does), which no sync does. The conformance suite uses them to
// prove that syncs leave such data alone.

// SetCustomFields replaces the custom fields of a profile, as its owner would.
func (s *Store) SetCustomFields(ctx context.Context, profileID string, fields map[string]any) error {
	if fields == nil {
		fields = map[string]any{}
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return fmt.Errorf("set custom fields: %w", err)
	}
	return s.exec1(ctx, "set custom fields",
		`UPDATE profiles SET custom_fields = $2, updated_at = now() WHERE id = $1::uuid`, profileID, b)
}

// SetField sets one field of a profile as its owner would: a core field by its name
// (profile.CoreFields) or an attribute as "attributes.NAME".
func (s *Store) SetField(ctx context.Context, profileID, field, value string) error {
	if name, ok := strings.CutPrefix(field, "attributes."); ok {
		return s.exec1(ctx, "set field",
			`UPDATE profiles SET attributes = attributes || jsonb_build_object($2::text, $3::text),
			        updated_at = now() WHERE id = $1::uuid`, profileID, name, clean(value))
	}
	if profile.FieldIndex(field) < 0 {
		return fmt.Errorf("set field: %q is not a profile field", field)
	}
	// field is one of the fixed column names checked above.
	return s.exec1(ctx, "set field",
		`UPDATE profiles SET `+field+` = $2, updated_at = now() WHERE id = $1::uuid`, profileID, clean(value))
}

// SetUserImage stores a person's own picture, which syncs never replace.
func (s *Store) SetUserImage(ctx context.Context, profileID string, photo profile.Photo) error {
	sum := sha256.Sum256(photo.Data)
	data := photo.Data
	if data == nil {
		data = []byte{}
	}
	return s.exec1(ctx, "set user image", `
		INSERT INTO profile_images (profile_id, source, content_type, sha256, data, updated_at)
		VALUES ($1::uuid, 'user', $2, $3, $4, now())
		ON CONFLICT (profile_id) DO UPDATE
		   SET source = 'user', content_type = excluded.content_type, sha256 = excluded.sha256,
		       data = excluded.data, updated_at = now()`, profileID, clean(photo.ContentType), sum[:], data)
}

// Image returns a profile's picture: who set it ("sync" or "user"), the picture, and
// when it was last written. It returns store.ErrNotFound if the profile has none.
func (s *Store) Image(ctx context.Context, profileID string) (source string, photo profile.Photo, updatedAt time.Time, err error) {
	err = s.pool.QueryRow(ctx, `
		SELECT source, content_type, data, updated_at FROM profile_images WHERE profile_id = $1::uuid`,
		profileID).Scan(&source, &photo.ContentType, &photo.Data, &updatedAt)
	if err != nil {
		return "", profile.Photo{}, time.Time{}, fmt.Errorf("image of %s: %w", profileID, translate(err))
	}
	return source, photo, updatedAt, nil
}

// BreakLock ends the sync's current lease now, as if its holder had stalled past it: the
// next BeginRun takes the lock, and the old holder's next write fails with
// store.ErrLockLost. It is for operators freeing a lock held by a hung replica. It returns
// store.ErrNotFound if nobody holds the lock.
func (s *Store) BreakLock(ctx context.Context, syncName string) error {
	return s.exec1(ctx, "break lock",
		`UPDATE sync_locks SET expires_at = now() - interval '1 microsecond' WHERE sync_name = $1`, syncName)
}

// exec1 runs a statement that must change exactly one row; none is store.ErrNotFound.
func (s *Store) exec1(ctx context.Context, what, sql string, args ...any) error {
	tag, err := s.pool.Exec(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, translate(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}
