#pragma once
// The seam between the repositories and a database engine: a connection that
// prepares statements, runs transactions and migrates its schema. SQLite
// implements it today (storage/sqlite/); a PostgreSQL backend implements the
// same interface, so the repositories write SQL both engines accept:
//   - placeholders are $1, $2, ... (PostgreSQL's; SQLite maps them by name);
//   - INSERT ... ON CONFLICT DO NOTHING / DO UPDATE, never INSERT OR IGNORE/REPLACE;
//   - CASE instead of the two-argument max()/min() (PostgreSQL has GREATEST);
//   - results are numbers or text: CASE WHEN ... THEN 1 ELSE 0 END, not a boolean;
//   - a subquery in FROM has an alias; index hints come from indexHint().
#include <concepts>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace hale::aggregator::storage {

/// A failure the caller can act on. Others are plain std::runtime_error.
class StorageError : public std::runtime_error {
 public:
  enum class Kind {
    Damaged,  ///< the data is corrupt or not a database: restore from a backup
    Newer,    ///< the schema is newer than this binary
    Other,
  };
  StorageError(Kind kind, std::string location, const std::string& what)
      : std::runtime_error(what), kind_(kind), location_(std::move(location)) {}
  Kind kind() const { return kind_; }
  /// The file or URL (without credentials) of the database.
  const std::string& location() const { return location_; }

 private:
  Kind kind_;
  std::string location_;
};

/// A prepared statement of one Connection, used by one thread at a time.
class Statement {
 public:
  virtual ~Statement() = default;

  /// Binds parameter $index (1-based).
  virtual void bindInt(int index, int64_t value) = 0;
  virtual void bindReal(int index, double value) = 0;
  virtual void bindText(int index, std::string_view value) = 0;
  virtual void bindNull(int index) = 0;
  /// Advances to the next row; false when there is none.
  virtual bool step() = 0;
  /// Runs a write to completion and resets; returns the rows it changed.
  virtual int64_t run() = 0;
  /// Ends the execution and clears the bindings. Needed after a read that
  /// stopped before its last row: an unfinished read keeps its snapshot.
  virtual void reset() = 0;

  virtual int64_t int64(int column) const = 0;
  virtual double real(int column) const = 0;
  virtual std::string text(int column) const = 0;
  virtual bool isNull(int column) const = 0;

  template <class T>
  void bind(int index, const T& value) {
    if constexpr (std::same_as<T, bool>)
      bindInt(index, value ? 1 : 0);
    else if constexpr (std::integral<T>)
      bindInt(index, static_cast<int64_t>(value));
    else if constexpr (std::floating_point<T>)
      bindReal(index, static_cast<double>(value));
    else
      bindText(index, std::string_view(value));
  }

  /// Resets, then binds the arguments to $1, $2, ... in order.
  template <class... Args>
  Statement& with(const Args&... args) {
    reset();
    int index = 1;
    (bind(index++, args), ...);
    return *this;
  }
};
using StatementPtr = std::unique_ptr<Statement>;

class Connection {
 public:
  virtual ~Connection() = default;

  /// Prepares `sql` (placeholders $1, $2, ...). A statement must not outlive its connection.
  virtual StatementPtr prepare(std::string_view sql) = 0;
  /// A write transaction: begin() takes the write lock at once.
  virtual void begin() = 0;
  virtual void commit() = 0;
  virtual void rollback() = 0;
  /// Migration i brings the schema from version i to i+1; applies, one
  /// transaction each, those past the stored version. Throws StorageError
  /// (Kind::Newer) when the stored schema is newer than `migrations`.
  virtual void migrate(std::span<const std::string_view> migrations) = 0;
  /// What follows a table name in FROM to make the engine use `index`, where
  /// it needs telling; empty for engines that plan well without it.
  virtual std::string indexHint(std::string_view index) const = 0;
  /// The file or URL (without credentials) of the database, for messages.
  virtual std::string location() const = 0;
};
using ConnectionPtr = std::unique_ptr<Connection>;

/// Commits only when commit() is called; otherwise rolls back when destroyed.
class Transaction {
 public:
  explicit Transaction(Connection& conn) : conn_(conn) { conn_.begin(); }
  ~Transaction() {
    if (done_) return;
    try {
      conn_.rollback();
    } catch (...) {
      // The engine rolled back already (a failed commit); nothing is left to undo.
    }
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    conn_.commit();
    done_ = true;
  }

 private:
  Connection& conn_;
  bool done_ = false;
};

}  // namespace hale::aggregator::storage
