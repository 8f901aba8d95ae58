<?php
/*
 * Router for `php -S 127.0.0.1:<port> -t <site root> router.php` (see launch.py).
 *
 * The site root is a throwaway directory of symlinks to Debian's /usr/share/wordpress plus its own
 * wp-config.php. PHP resolves symlinks in __DIR__, so wp-load.php would otherwise set ABSPATH to
 * /usr/share/wordpress/ and load Debian's wp-config.php (which wants /etc/wordpress/config-*.php).
 * Defining ABSPATH here first points WordPress at the throwaway root instead; the constant survives
 * into the script the built-in server runs when this router returns false.
 */

$chorus_root = rtrim($_SERVER['DOCUMENT_ROOT'], '/');
define('ABSPATH', $chorus_root . '/');

$chorus_path = rawurldecode(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) ?: '/');
$chorus_file = $chorus_root . $chorus_path;

// Existing files (PHP scripts, uploads) and directories with an index.php: let the server handle them.
if (is_file($chorus_file) || is_file(rtrim($chorus_file, '/') . '/index.php')) {
    return false;
}

// Anything else is a pretty permalink (e.g. /wp-json/wp/v2/posts): hand it to WordPress' front controller.
$_SERVER['SCRIPT_NAME'] = '/index.php';
$_SERVER['PHP_SELF'] = '/index.php';
$_SERVER['SCRIPT_FILENAME'] = ABSPATH . 'index.php';
require ABSPATH . 'index.php';
