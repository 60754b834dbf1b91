package postgres

import (
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/peoplesync/peoplesync/engine/store"
)

// translate is the one place where pgx errors become the store's sentinels:
// pgx.ErrNoRows becomes store.ErrNotFound. Server errors (*pgconn.PgError, which name
// their SQLSTATE), context errors and our own sentinels pass through unchanged. The lock
// sentinels, store.ErrLocked and store.ErrLockLost, are decided in run.go from query
// results, not from driver errors.
func translate(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// isIdleTimeout reports whether the server ended the session because its transaction
// idled past idle_in_transaction_session_timeout (SQLSTATE 25P03).
func isIdleTimeout(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "25P03"
}

// isLockTimeout reports whether a statement gave up waiting for a lock after
// lock_timeout (SQLSTATE 55P03).
func isLockTimeout(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "55P03"
}

// isDeadlock reports whether the server broke a deadlock by ending this transaction
// (SQLSTATE 40P01): two syncs' writes to the same people can meet in opposite orders.
func isDeadlock(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "40P01"
}
