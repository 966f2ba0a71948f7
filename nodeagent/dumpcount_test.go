package nodeagent

import (
	"math/rand"
	"reflect"
	"testing"
)

const sampleDump = "-- MariaDB dump 10.19\n" +
	"/*!40101 SET NAMES utf8mb4 */;\n" +
	"DROP TABLE IF EXISTS `wp_posts`;\n" +
	"CREATE TABLE `wp_posts` (\n  `ID` bigint(20) unsigned NOT NULL AUTO_INCREMENT COMMENT 'INSERT INTO `x` VALUES (1);',\n  PRIMARY KEY (`ID`)\n);\n" +
	"LOCK TABLES `wp_posts` WRITE;\n" +
	"/*!40000 ALTER TABLE `wp_posts` DISABLE KEYS */;\n" +
	"INSERT INTO `wp_posts` VALUES (1,'it\\'s (not) a; row','a\\\\'),(2,'two''s (',NULL),(3,'line\nINSERT INTO `wp_posts` VALUES (9);\nend',0x28293B27);\n" +
	"INSERT INTO `wp_posts` VALUES (4,'\\\\\\'',''),(5,')',')');\n" +
	"/*!40000 ALTER TABLE `wp_posts` ENABLE KEYS */;\n" +
	"UNLOCK TABLES;\n" +
	"CREATE TABLE `odd``name` (`a` int);\n" +
	"INSERT INTO `odd``name` VALUES (1),(2),(3);\n" +
	"CREATE TABLE `wp_empty` (`a` int);\n" +
	"DELIMITER ;;\n" +
	"/*!50003 CREATE*/ /*!50003 TRIGGER t AFTER INSERT ON wp_posts FOR EACH ROW\n" +
	"INSERT INTO `log` VALUES (NEW.ID) */;;\n" +
	"DELIMITER ;\n" +
	"INSERT INTO `log` VALUES (7,'x');\n" +
	"INSERT INTO `log` VALUES ('a\\\\',')');\n" +
	"INSERT INTO `wp_options` VALUES\n(1,'siteurl','http://a.test','yes'),\n(2,'blogname','x (y); z','yes'),\n(3,'a\\'\n(b)','c','no');\n" +
	"INSERT INTO `wp_optionsx` VALUESX (1);\n" +
	"-- Dump completed\n"

var sampleCounts = map[string]int64{"wp_posts": 5, "odd`name": 3, "log": 2, "wp_options": 3}

func TestRowCounter(t *testing.T) {
	t.Parallel()
	c := newRowCounter()
	c.Write([]byte(sampleDump))
	if !reflect.DeepEqual(c.counts, sampleCounts) {
		t.Fatalf("counts = %v, want %v", c.counts, sampleCounts)
	}
	// Writes may end anywhere: byte by byte, and in random pieces.
	c = newRowCounter()
	for i := 0; i < len(sampleDump); i++ {
		c.Write([]byte{sampleDump[i]})
	}
	if !reflect.DeepEqual(c.counts, sampleCounts) {
		t.Fatalf("byte by byte: counts = %v", c.counts)
	}
	rng := rand.New(rand.NewSource(1))
	for round := 0; round < 200; round++ {
		c = newRowCounter()
		for s := sampleDump; len(s) > 0; {
			n := min(len(s), 1+rng.Intn(40))
			c.Write([]byte(s[:n]))
			s = s[n:]
		}
		if !reflect.DeepEqual(c.counts, sampleCounts) {
			t.Fatalf("round %d: counts = %v", round, c.counts)
		}
	}
}
