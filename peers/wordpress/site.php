<?php
/*
 * Database and install steps for a throwaway WordPress site, run with php-cli by launch.py.
 *
 *   php site.php install <site root>   create the database named in <site root>/wp-config.php, run
 *                                      wp_install() and create an application password; prints
 *                                      one JSON object {"user_id", "username", "application_password"}
 *   php site.php drop <site root>      drop that database
 *
 * Settings are read from the environment variables launch.py sets: WORDPRESS_PEER_DB_HOST,
 * WORDPRESS_PEER_DB_USER, WORDPRESS_PEER_DB_PASSWORD, WORDPRESS_PEER_DB_NAME, WORDPRESS_PEER_URL,
 * WORDPRESS_PEER_ADMIN_USER, WORDPRESS_PEER_ADMIN_PASSWORD, WORDPRESS_PEER_ADMIN_EMAIL.
 */

mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);

function chorus_env(string $name): string
{
    $value = getenv($name);
    if ($value === false) {
        fwrite(STDERR, "missing environment variable $name\n");
        exit(2);
    }
    return $value;
}

/** Connects to the server (no database selected); DB_HOST may be "host:port" or "host:/socket". */
function chorus_connect(): mysqli
{
    $host = chorus_env('WORDPRESS_PEER_DB_HOST');
    $port = null;
    $socket = null;
    if (str_contains($host, ':')) {
        [$host, $rest] = explode(':', $host, 2);
        if (ctype_digit($rest)) {
            $port = (int) $rest;
        } else {
            $socket = $rest;
        }
    }
    return new mysqli(
        $host,
        chorus_env('WORDPRESS_PEER_DB_USER'),
        chorus_env('WORDPRESS_PEER_DB_PASSWORD'),
        null,
        $port,
        $socket,
    );
}

function chorus_db_name(): string
{
    $name = chorus_env('WORDPRESS_PEER_DB_NAME');
    if (!preg_match('/^[A-Za-z0-9_]+$/', $name)) {
        fwrite(STDERR, "unsafe database name $name\n");
        exit(2);
    }
    return $name;
}

[$command, $root] = [$argv[1] ?? '', rtrim($argv[2] ?? '', '/')];

if ($command === 'drop') {
    chorus_connect()->query('DROP DATABASE IF EXISTS `' . chorus_db_name() . '`');
    exit(0);
}

if ($command !== 'install' || $root === '') {
    fwrite(STDERR, "usage: php site.php install|drop <site root>\n");
    exit(2);
}

chorus_connect()->query(
    'CREATE DATABASE `' . chorus_db_name() . '` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci'
);

// Same trick as router.php: load the throwaway root's wp-config.php, not Debian's.
define('ABSPATH', $root . '/');
define('WP_INSTALLING', true);
$url = parse_url(chorus_env('WORDPRESS_PEER_URL'));
$_SERVER['HTTP_HOST'] = $url['host'] . ':' . $url['port'];
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';

require ABSPATH . 'wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';

$username = chorus_env('WORDPRESS_PEER_ADMIN_USER');
$result = wp_install(
    'Chorus peer',
    $username,
    chorus_env('WORDPRESS_PEER_ADMIN_EMAIL'),
    false,
    '',
    chorus_env('WORDPRESS_PEER_ADMIN_PASSWORD'),
);
$user_id = (int) $result['user_id'];

// Start empty: no "Hello world!" post, sample page, privacy-policy draft or comment.
foreach (get_posts(['post_type' => 'any', 'post_status' => 'any', 'numberposts' => -1, 'fields' => 'ids']) as $id) {
    wp_delete_post($id, true);
}

// Pretty permalinks, so that /wp-json/... works as well as /?rest_route=... (router.php sends
// unknown paths to index.php; no .htaccess is involved).
global $wp_rewrite;
$wp_rewrite->set_permalink_structure('/%year%/%monthnum%/%postname%/');
$wp_rewrite->flush_rules(false);

$created = WP_Application_Passwords::create_new_application_password($user_id, ['name' => 'chorus-tests']);
if (is_wp_error($created)) {
    fwrite(STDERR, 'could not create the application password: ' . $created->get_error_message() . "\n");
    exit(1);
}
[$application_password] = $created;

echo json_encode([
    'user_id' => $user_id,
    'username' => $username,
    'application_password' => $application_password,
]), "\n";
